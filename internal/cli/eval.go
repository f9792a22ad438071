package cli

import (
	"github.com/spf13/cobra"

	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/detector/eval"
	"github.com/mcptrail/mcptrail/detector/rules"
)

func newEvalCommand() *cobra.Command {
	var root, rulesDir, severity string
	cmd := &cobra.Command{
		Use:   "eval [--datasets DIR]",
		Short: "Measure the detector on labelled data sets",
		Long: `eval runs the detector over every labelled data set under --datasets (a
folder NAME holding NAME.capture.jsonl and NAME.labels.jsonl) and prints,
per data set: sessions per label, sessions flagged at --severity or above,
recall on attack_succeeded, the flagged rate on attack_failed, the
false-positive rate on benign, and a per-rule breakdown.`,
		Example: `  mcptrail eval --datasets ../shared/datasets`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sev, err := detector.ParseSeverity(severity)
			if err != nil {
				return withCode(ExitFailure, "--severity: %w", err)
			}
			set, err := rules.Load(rulesDir)
			if err != nil {
				return withCode(ExitFailure, "eval: %w", err)
			}
			dirs, err := eval.Datasets(root)
			if err != nil {
				return withCode(ExitFailure, "%w", err)
			}
			for _, dir := range dirs {
				res, err := eval.Dataset(cmd.Context(), dir, sev, func() (*detector.Engine, error) {
					return detector.New(detector.Options{Rules: set})
				})
				if err != nil {
					return withCode(ExitFailure, "%w", err)
				}
				eval.Print(cmd.OutOrStdout(), res)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "datasets", "../shared/datasets", "folder of labelled data sets")
	cmd.Flags().StringVar(&rulesDir, "rules", "", "folder of YAML rule files to add to the built-in rules")
	cmd.Flags().StringVar(&severity, "severity", "high", "a session is flagged by a finding at this severity or above")
	return cmd
}
