package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/detector/seqmodel"
)

func newTrainCommand() *cobra.Command {
	var input, output string
	cmd := &cobra.Command{
		Use:   "train --input FILE|- --output MODEL",
		Short: "Learn the tool-transition model that detect --model uses",
		Long: `train reads capture records (normal traffic: the history the model should
call usual) and learns, per client and set of servers, how often each tool
call follows another. It writes the model as versioned JSON; give it to
mcptrail detect --model, which then reports improbable transitions (low),
improbable sessions (medium), first-seen tools and servers (info) and bursts.`,
		Example: `  mcptrail train --input last-month.capture.jsonl --output model.json
  mcptrail detect --input today.capture.jsonl --model model.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, _, closeIn, err := openInput(cmd, input)
			if err != nil {
				return withCode(ExitFailure, "%w", err)
			}
			defer closeIn()
			m, stats, err := seqmodel.TrainCapture(cmd.Context(), in, seqmodel.TrainOptions{})
			if err != nil {
				return withCode(ExitFailure, "train: %w", err)
			}
			if err := m.SaveFile(output); err != nil {
				return withCode(ExitFailure, "train: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "train: %+v; model written to %s\n", stats, output)
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "capture file to learn from, or - for standard input (required)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "model file to write (required)")
	_ = cmd.MarkFlagRequired("input")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}
