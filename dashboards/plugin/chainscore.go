package plugin

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// chainStart is the state before a session's first tool call.
const chainStart = "(start)"

// smoothing is the add-alpha smoothing of the transition model.
const smoothing = 0.5

// chain is one session's tool calls in order ("server/tool").
type chain struct {
	session, host, client string
	tools                 []string
}

// transitionModel counts tool-to-tool transitions over a set of chains.
type transitionModel struct {
	pair  map[[2]string]int
	from  map[string]int
	tools map[string]bool
}

// newTransitionModel counts the transitions of every chain.
func newTransitionModel(chains []chain) *transitionModel {
	m := &transitionModel{pair: map[[2]string]int{}, from: map[string]int{}, tools: map[string]bool{}}
	for _, c := range chains {
		m.add(c, 1)
	}
	return m
}

// add adds (sign 1) or removes (sign -1) a chain's transitions.
func (m *transitionModel) add(c chain, sign int) {
	prev := chainStart
	for _, t := range c.tools {
		m.pair[[2]string{prev, t}] += sign
		m.from[prev] += sign
		m.tools[t] = true
		prev = t
	}
}

// surprise is -log2 P(to | from), add-alpha smoothed over the tools known.
func (m *transitionModel) surprise(from, to string) float64 {
	v := float64(len(m.tools) + 1)
	p := (float64(m.pair[[2]string{from, to}]) + smoothing) / (float64(m.from[from]) + smoothing*v)
	return -math.Log2(p)
}

// step is one scored transition of a chain.
type step struct {
	n        int
	from, to string
	bits     float64
}

// score scores c leaving its own transitions out of the model (so a chain
// seen once is as surprising as it should be), returning its steps and
// their mean surprise.
func (m *transitionModel) score(c chain) ([]step, float64) {
	m.add(c, -1)
	defer m.add(c, 1)
	var steps []step
	total := 0.0
	prev := chainStart
	for i, t := range c.tools {
		b := m.surprise(prev, t)
		steps = append(steps, step{n: i + 1, from: prev, to: t, bits: b})
		total += b
		prev = t
	}
	if len(steps) == 0 {
		return nil, 0
	}
	return steps, total / float64(len(steps))
}

// readChains reads the tool-call chains of the sessions active in the time
// range, plus the given session's whatever its time.
func readChains(ctx context.Context, conn driver.Conn, db string, q Query) ([]chain, error) {
	query := `SELECT session, any(toString(host)), any(toString(client_name)),
       arrayMap(x -> x.2, arraySort(x -> x.1, groupArray((ts, concat(server_name, '/', target))))) AS tools
FROM ` + db + `.events
WHERE kind = 'request' AND method = 'tools/call' AND target != ''
  AND ((ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64}))
       OR session = {session:String})
GROUP BY session`
	rows, err := conn.Query(ctx, query,
		clickhouse.Named("from", strconv.FormatInt(q.From.UnixMilli(), 10)),
		clickhouse.Named("to", strconv.FormatInt(q.To.UnixMilli(), 10)),
		clickhouse.Named("session", q.Session))
	if err != nil {
		return nil, fmt.Errorf("chain scores: %w", err)
	}
	defer rows.Close()
	var chains []chain
	for rows.Next() {
		var c chain
		if err := rows.Scan(&c.session, &c.host, &c.client, &c.tools); err != nil {
			return nil, fmt.Errorf("chain scores: %w", err)
		}
		chains = append(chains, c)
	}
	return chains, rows.Err()
}

// chainScores scores tool-call chains against a transition model of every
// chain in the time range. With a session: one row per step of its chain;
// without: the sessions ranked by mean surprise.
func chainScores(ctx context.Context, conn driver.Conn, db string, q Query) (data.Frames, error) {
	chains, err := readChains(ctx, conn, db, q)
	if err != nil {
		return nil, err
	}
	m := newTransitionModel(chains)
	if q.Session != "" {
		frame := data.NewFrame("chain steps",
			data.NewField("step", nil, []int64{}),
			data.NewField("from", nil, []string{}),
			data.NewField("to", nil, []string{}),
			data.NewField("surprise_bits", nil, []float64{}),
			data.NewField("transition_seen", nil, []int64{}),
		)
		for _, c := range chains {
			if c.session != q.Session {
				continue
			}
			steps, _ := m.score(c)
			for _, s := range steps {
				seen := int64(m.pair[[2]string{s.from, s.to}] - 1) // other sessions only
				frame.AppendRow(int64(s.n), s.from, s.to, round2(s.bits), seen)
			}
		}
		return data.Frames{frame}, nil
	}
	type ranked struct {
		c          chain
		mean, peak float64
		rarest     string
	}
	var all []ranked
	for _, c := range chains {
		steps, mean := m.score(c)
		r := ranked{c: c, mean: mean}
		for _, s := range steps {
			if s.bits > r.peak {
				r.peak, r.rarest = s.bits, s.from+" → "+s.to
			}
		}
		all = append(all, r)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].mean != all[j].mean {
			return all[i].mean > all[j].mean
		}
		return all[i].c.session < all[j].c.session
	})
	frame := data.NewFrame("chain scores",
		data.NewField("session", nil, []string{}),
		data.NewField("host", nil, []string{}),
		data.NewField("client", nil, []string{}),
		data.NewField("calls", nil, []int64{}),
		data.NewField("mean_surprise_bits", nil, []float64{}),
		data.NewField("max_surprise_bits", nil, []float64{}),
		data.NewField("rarest_step", nil, []string{}),
	)
	for i, r := range all {
		if i >= q.Limit {
			break
		}
		frame.AppendRow(r.c.session, r.c.host, r.c.client, int64(len(r.c.tools)), round2(r.mean), round2(r.peak), r.rarest)
	}
	return data.Frames{frame}, nil
}

// round2 rounds to two decimals.
func round2(f float64) float64 { return math.Round(f*100) / 100 }
