// Package demo runs mcptrail's whole pipeline on one machine, with nothing
// but loopback addresses: the bus (`mcptrail bus`), ClickHouse (a server
// given by URL, or the chDB dev bridge), `mcptrail migrate`, `mcptrail
// process` and `mcptrail detect --bus`, real MCP servers from npm wrapped
// and proxied by mcptrail-collector, and a scripted agent that does
// ordinary work and acts out three attacks: an exfiltration that follows
// instructions injected in a document, a rug pull (a server update whose
// tool description turns malicious) and a bearer token presented to a
// server it was not issued for.
//
// While the agent works, the detector's findings are printed as they
// arrive. At the end the demo waits until every captured record is stored
// and the detector has caught up, runs `mcptrail verify`, and summarizes
// what was stored and found, which attack each finding belongs to, and
// the queries and dashboards to look at it with.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/collector/spool"
	"github.com/mcptrail/mcptrail/collector/token"
	"github.com/mcptrail/mcptrail/detector"
	"github.com/mcptrail/mcptrail/processor/store"
	chschema "github.com/mcptrail/mcptrail/schemas/clickhouse"
)

// Config configures a run.
type Config struct {
	// Mcptrail is the mcptrail binary the pipeline's commands run from.
	Mcptrail string
	// Collector is the mcptrail-collector binary.
	Collector string
	// MCPServers is the npm prefix holding server-everything and
	// server-filesystem (deployments/mcp-servers/install.sh).
	MCPServers string
	// ClickHouse is the URL of a ClickHouse server; empty starts the chDB
	// bridge (ChdbBridge, run with python3).
	ClickHouse string
	ChdbBridge string
	// Database is the database the pipeline stores into; it must not hold
	// events yet.
	Database string
	// DataDir holds everything the run writes (a new temporary directory
	// when empty); it is removed at the end unless Keep.
	DataDir string
	Keep    bool
	// SummaryJSON, when set, is where the summary goes as JSON.
	SummaryJSON string
	// Grafana is the base URL of the dashboard links.
	Grafana string
	// Stdout receives the demo's output.
	Stdout io.Writer
}

// Timeouts of the run's phases.
const (
	bridgeReadyTimeout = 60 * time.Second
	busReadyTimeout    = 30 * time.Second
	componentReady     = 60 * time.Second
	// storeTimeout bounds the wait for the last records to be stored and
	// the detector to catch up.
	storeTimeout = 120 * time.Second
	// scenarioTimeout bounds one scenario of the agent (a hung server).
	scenarioTimeout = 2 * time.Minute
	pollInterval    = 250 * time.Millisecond
	progressEvery   = 2 * time.Second
)

// Groups of the pipeline's consumers on the bus (the commands' defaults).
const (
	processorGroup = "processor"
	detectorGroup  = "detector"
)

var (
	bridgeReady    = regexp.MustCompile(`^CHDB_ADDR=(\S+)`)
	busReady       = regexp.MustCompile(`msg="bus ready" url=(\S+)`)
	processReady   = regexp.MustCompile(`msg="processor: started"`)
	detectReady    = regexp.MustCompile(`msg="detector running"`)
	natsLines      = regexp.MustCompile(`component=nats`)
	verifyLine     = regexp.MustCompile(`^verified (\d+) records \(\d+ rows\) in (\d+) streams: (\d+) problems`)
	databaseNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// run is the state of one demo run.
type run struct {
	cfg     Config
	con     *console
	tc      *toolchain
	stack   *stack
	dataDir string
	// stateDir is the collectors' state directory (site key, spools).
	stateDir        string
	loopbackPreload string
	ws              *workspace
	busURL, chURL   string
	watch           *busWatch
	wh              *warehouse

	// pipeline are the bus, processor and detector; servers the HTTP MCP
	// servers and their proxies, in start order.
	pipeline, servers []*proc

	mu       sync.Mutex
	live     int // findings printed as they came
	windows  []window
	failures []string
}

// Run runs the demo and returns its summary. The error is non-nil when
// the demo could not run to its end; a run that ended but found problems
// returns a summary with OK false.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	start := time.Now()
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Database == "" {
		cfg.Database = chschema.DefaultDatabase
	}
	if !databaseNameRE.MatchString(cfg.Database) {
		return nil, fmt.Errorf("--database %q: want letters, digits and underscores", cfg.Database)
	}
	con := newConsole(cfg.Stdout)
	tc, err := locate(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	dataDir, cleanup, err := prepareDataDir(cfg.DataDir, cfg.Keep)
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, con: con, tc: tc, dataDir: dataDir, stateDir: filepath.Join(dataDir, "collector")}
	r.stack = newStack(con, filepath.Join(dataDir, "logs"))
	defer func() {
		r.stack.stopAll()
		if r.watch != nil {
			r.watch.close()
		}
		if r.wh != nil {
			r.wh.close()
		}
		if cleanup != nil {
			cleanup()
		}
	}()
	if cfg.Keep {
		con.printf("data dir %s (kept: logs in %s)", dataDir, filepath.Join(dataDir, "logs"))
	} else {
		con.printf("data dir %s (removed at the end; --keep keeps it)", dataDir)
	}
	stopNotice := context.AfterFunc(ctx, func() { con.printf("interrupted: stopping every child") })
	defer stopNotice()
	sum, err := r.execute(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("demo interrupted: %w", ctx.Err())
		}
		return nil, err
	}
	sum.Seconds = time.Since(start).Seconds()
	chdb := ""
	if cfg.ClickHouse == "" {
		chdb = filepath.Join(dataDir, "chdb")
	}
	var out strings.Builder
	sum.write(&out, cfg.Database, chdb, cfg.Keep)
	con.block(out.String())
	if cfg.SummaryJSON != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.SummaryJSON), 0o750); err != nil {
			return sum, fmt.Errorf("--summary-json: %w", err)
		}
		if err := sum.writeJSON(cfg.SummaryJSON); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// prepareDataDir makes the run's directory: dir (new or empty) or a new
// temporary one. cleanup removes it, or is nil when it is kept.
func prepareDataDir(dir string, keep bool) (string, func(), error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "mcptrail-demo-")
		if err != nil {
			return "", nil, fmt.Errorf("data dir: %w", err)
		}
		dir = d
	} else {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", nil, fmt.Errorf("--data-dir: %w", err)
		}
		dir = abs
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return "", nil, fmt.Errorf("--data-dir %s is not empty: give a new or empty directory (the demo's bus and counts start from nothing)", dir)
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", nil, fmt.Errorf("--data-dir: %w", err)
		}
	}
	for _, sub := range []string{"logs", "collector"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return "", nil, fmt.Errorf("data dir: %w", err)
		}
	}
	if keep {
		return dir, nil, nil
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// execute runs the phases: pipeline up, agent, wait, verify, summary.
func (r *run) execute(ctx context.Context) (*Summary, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A child that dies ends the run.
	go func() {
		select {
		case <-r.stack.died:
			cancel()
		case <-ctx.Done():
		}
	}()
	fail := func(err error) (*Summary, error) {
		if serr := r.stack.err(); serr != nil {
			return nil, serr
		}
		return nil, err
	}
	if err := r.startPipeline(ctx); err != nil {
		return fail(err)
	}
	a, err := r.prepareAgent(ctx)
	if err != nil {
		return fail(err)
	}
	for i, sc := range scenarios() {
		if sc.afterDrain {
			if err := r.waitDetector(ctx); err != nil {
				return fail(err)
			}
		}
		kind := "ordinary"
		if sc.attack != "" {
			kind = "ATTACK " + sc.attack
		}
		r.con.line("agent", fmt.Sprintf("scenario %d/%d (%s) %s: %s", i+1, len(scenarios()), kind, sc.name, sc.what))
		w := window{name: sc.name, what: sc.what, attack: sc.attack, start: time.Now()}
		sctx, scancel := context.WithTimeout(ctx, scenarioTimeout)
		err := sc.run(a, sctx)
		scancel()
		w.end = time.Now()
		r.windows = append(r.windows, w)
		if err != nil {
			return fail(fmt.Errorf("scenario %s: %w", sc.name, err))
		}
		if err := r.progress(ctx); err != nil {
			return fail(err)
		}
	}
	r.con.printf("the agent is done; stopping the HTTP servers and their proxies (the collectors deliver what they captured)")
	r.stopServers()
	if err := r.waitStored(ctx); err != nil {
		return fail(err)
	}
	if err := r.waitDetector(ctx); err != nil {
		return fail(err)
	}
	sum, err := r.summarize(ctx)
	if err != nil {
		return fail(err)
	}
	r.con.printf("stopping the pipeline")
	r.stopPipeline()
	sum.check(r.failures)
	return sum, nil
}

// collectorFlags are the flags every collector gets: deliver to the bus,
// keep state (site key, spools) in one directory.
func (r *run) collectorFlags() []string {
	return []string{"--sink", r.busURL, "--state-dir", r.stateDir}
}

// startPipeline starts ClickHouse (or connects to it), the bus, migrates,
// and starts the processor and the detector.
func (r *run) startPipeline(ctx context.Context) error {
	if r.cfg.ClickHouse != "" {
		r.chURL = r.cfg.ClickHouse
		r.con.printf("ClickHouse: %s", store.Redact(r.cfg.ClickHouse))
	} else {
		r.con.printf("starting ClickHouse: the chDB dev bridge (%s)", r.tc.bridge)
		p, err := r.stack.start(spec{
			name: "chdb", path: r.tc.python, ready: bridgeReady,
			args: []string{r.tc.bridge, "--port", "0", "--data-dir", filepath.Join(r.dataDir, "chdb"), "--log", filepath.Join(r.dataDir, "logs", "chdb-bridge-requests.log")},
		})
		if err != nil {
			return err
		}
		m, err := p.awaitReady(ctx, bridgeReadyTimeout)
		if err != nil {
			return fmt.Errorf("the chDB bridge did not start (run %s if chdb is missing): %w", chdbInstall, err)
		}
		r.chURL = "http://" + m[1] + "/"
		r.con.printf("ClickHouse (chDB) ready at %s", r.chURL)
	}

	bus, err := r.stack.start(spec{
		name: "bus", path: r.tc.mcptrail, ready: busReady, hide: natsLines,
		args: []string{"bus", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(r.dataDir, "bus")},
	})
	if err != nil {
		return err
	}
	m, err := bus.awaitReady(ctx, busReadyTimeout)
	if err != nil {
		return err
	}
	r.busURL = m[1]
	r.pipeline = append(r.pipeline, bus)
	if r.watch, err = watchBus(ctx, r.busURL); err != nil {
		return err
	}

	migrate, err := r.stack.start(spec{name: "migrate", path: r.tc.mcptrail, oneShot: true,
		args: []string{"migrate", "--clickhouse", r.chURL, "--database", r.cfg.Database}})
	if err != nil {
		return err
	}
	if err := migrate.wait(ctx); err != nil {
		return err
	}
	if r.wh, err = openWarehouse(ctx, r.chURL, r.cfg.Database); err != nil {
		return err
	}
	if n, err := r.wh.count(ctx, "SELECT count() FROM "+r.wh.table("events")); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("database %s already holds %d events: give --database a new name so that the demo's counts are its own", r.cfg.Database, n)
	}

	process, err := r.stack.start(spec{name: "process", path: r.tc.mcptrail, ready: processReady,
		args: []string{"process", "--bus", r.busURL, "--clickhouse", r.chURL, "--database", r.cfg.Database,
			"--group", processorGroup, "--batch-wait", "200ms", "--metrics-interval", "5s", "--instance", "demo"}})
	if err != nil {
		return err
	}
	detect, err := r.stack.start(spec{name: "detect", path: r.tc.mcptrail, ready: detectReady, stdout: r.onFinding,
		args: []string{"detect", "--bus", r.busURL, "--group", detectorGroup, "--clickhouse", r.chURL, "--database", r.cfg.Database}})
	if err != nil {
		return err
	}
	r.pipeline = append(r.pipeline, process, detect)
	if _, err := process.awaitReady(ctx, componentReady); err != nil {
		return err
	}
	if _, err := detect.awaitReady(ctx, componentReady); err != nil {
		return err
	}
	r.con.printf("pipeline up: bus %s, processor and detector consuming, ClickHouse database %s", r.busURL, r.cfg.Database)
	return nil
}

// counts returns the records on the bus and the events stored.
func (r *run) counts(ctx context.Context) (records, stored uint64, err error) {
	if records, err = r.watch.records(ctx); err != nil {
		return 0, 0, err
	}
	stored, err = r.wh.eventsStored(ctx)
	return records, stored, err
}

// progress prints how far the pipeline is.
func (r *run) progress(ctx context.Context) error {
	records, stored, err := r.counts(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	live := r.live
	r.mu.Unlock()
	r.con.printf("progress: %d records on the bus, %d events stored, %d findings so far", records, stored, live)
	return nil
}

// onFinding prints a finding the detector wrote on its stdout.
func (r *run) onFinding(line string) {
	var f detector.Finding
	if err := json.Unmarshal([]byte(line), &f); err != nil {
		r.con.line("detect", line)
		return
	}
	r.mu.Lock()
	r.live++
	r.mu.Unlock()
	r.con.line("detect", fmt.Sprintf("FINDING %-8s %-30s %-13s session %s: %s", strings.ToUpper(f.Severity.String()), f.Rule, f.Server, short(f.Session), f.Title))
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// prepareAgent plants the workspace, builds the rug-pull update, starts
// the HTTP servers behind their proxies and returns the agent.
func (r *run) prepareAgent(ctx context.Context) (*agent, error) {
	ws, err := plantWorkspace(filepath.Join(r.dataDir, "workspace"))
	if err != nil {
		return nil, err
	}
	r.ws = ws
	// Every collector shares one site key, so that one token has one
	// fingerprint wherever it is presented.
	if _, err := token.LoadOrCreateSiteKey(filepath.Join(r.stateDir, "site.key")); err != nil {
		return nil, err
	}
	r.loopbackPreload = filepath.Join(r.dataDir, "loopback.cjs")
	if err := os.WriteFile(r.loopbackPreload, []byte(loopbackPreload), 0o640); err != nil {
		return nil, fmt.Errorf("loopback preload: %w", err)
	}
	update, err := installUpdate(r.tc.serversDir, filepath.Join(r.dataDir, "updated-servers"))
	if err != nil {
		return nil, err
	}
	a := newAgent(r, ws)
	a.fsLaunch = []string{r.tc.filesystem, ws.root}
	a.updateLaunch = []string{update, ws.root}
	a.everythingLaunch = []string{r.tc.everything, "stdio"}
	if a.httpA, err = r.startHTTPServer(ctx, httpAName); err != nil {
		return nil, err
	}
	if a.httpB, err = r.startHTTPServer(ctx, httpBName); err != nil {
		return nil, err
	}
	r.con.printf("MCP servers: filesystem and everything over stdio (through mcptrail-collector wrap); %s at %s and %s at %s (through mcptrail-collector proxy %s and %s)",
		a.httpA.name, a.httpA.upstream, a.httpB.name, a.httpB.upstream, a.httpA.endpoint, a.httpB.endpoint)
	return a, nil
}

// stopServers stops the HTTP servers' proxies (which deliver what they
// captured) and then the servers.
func (r *run) stopServers() {
	for i := len(r.servers) - 1; i >= 0; i-- {
		p := r.servers[i]
		p.stop()
		if strings.HasPrefix(p.name, "proxy ") && p.exitCode() != 0 {
			r.failures = append(r.failures, fmt.Sprintf("%s exited with %d; last output:\n%s", p.name, p.exitCode(), p.lastLines()))
		}
	}
}

// stopPipeline stops the detector, the processor and the bus, which must
// all exit cleanly.
func (r *run) stopPipeline() {
	for i := len(r.pipeline) - 1; i >= 0; i-- {
		p := r.pipeline[i]
		p.stop()
		if p.exitCode() != 0 {
			r.failures = append(r.failures, fmt.Sprintf("%s exited with %d when stopped; last output:\n%s", p.name, p.exitCode(), p.lastLines()))
		}
	}
}

// waitStored waits until ClickHouse holds one event per record the
// collectors delivered.
func (r *run) waitStored(ctx context.Context) error {
	deadline := time.Now().Add(storeTimeout)
	next := time.Now().Add(progressEvery)
	for {
		records, stored, err := r.counts(ctx)
		if err != nil {
			return err
		}
		if stored == records {
			r.con.printf("stored: %d events for %d records captured", stored, records)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v, %d events are stored for %d records captured", storeTimeout, stored, records)
		}
		if time.Now().After(next) {
			next = time.Now().Add(progressEvery)
			r.con.printf("waiting for the processor: %d of %d records stored", stored, records)
		}
		if err := sleep(ctx, pollInterval); err != nil {
			return err
		}
	}
}

// waitDetector waits until the detector has acknowledged every record on
// the bus (it acknowledges once a record's findings are stored).
func (r *run) waitDetector(ctx context.Context) error {
	deadline := time.Now().Add(storeTimeout)
	next := time.Now().Add(progressEvery)
	for {
		n, ok, err := r.watch.pending(ctx, detectorGroup)
		if err != nil {
			return err
		}
		if ok && n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v the detector still has %d records to go", storeTimeout, n)
		}
		if time.Now().After(next) {
			next = time.Now().Add(progressEvery)
			r.con.printf("waiting for the detector: %d records to go", n)
		}
		if err := sleep(ctx, pollInterval); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// summarize runs mcptrail verify and reads the summary from ClickHouse and
// the collectors' spools.
func (r *run) summarize(ctx context.Context) (*Summary, error) {
	var s Summary
	var err error
	if s.Verify, err = r.verify(ctx); err != nil {
		return nil, err
	}
	if s.RecordsCaptured, err = r.watch.records(ctx); err != nil {
		return nil, err
	}
	if s.RecordsLeftInSpools, err = spooled(filepath.Join(r.stateDir, "spool")); err != nil {
		return nil, err
	}
	if s.EventsStored, err = r.wh.eventsStored(ctx); err != nil {
		return nil, err
	}
	sessions, err := r.wh.sessions(ctx)
	if err != nil {
		return nil, err
	}
	s.Sessions = len(sessions)
	inv, err := r.wh.inventory(ctx)
	if err != nil {
		return nil, err
	}
	s.Servers, s.ToolsUsed, s.ToolCalls = inv.Servers, inv.ToolsUsed, inv.ToolCalls
	findings, err := r.wh.findings(ctx)
	if err != nil {
		return nil, err
	}
	s.Scenarios, s.Unattributed = attribute(r.windows, sessions, findings)
	if s.Unattributed == nil {
		s.Unattributed = []FindingResult{}
	}
	s.count()
	if s.ChainProblems, err = r.wh.count(ctx, "SELECT count() FROM "+r.wh.table("chain_problems")); err != nil {
		return nil, err
	}
	if s.DeadLetters, err = r.wh.count(ctx, "SELECT count() FROM "+r.wh.table("dead_letters")); err != nil {
		return nil, err
	}
	if s.RawSecretsStored, err = r.wh.secretsStored(ctx, r.ws.secrets.values()); err != nil {
		return nil, err
	}
	first, last := time.Now(), time.Now()
	if len(r.windows) > 0 {
		first, last = r.windows[0].start, r.windows[len(r.windows)-1].end
	}
	s.lookAt(r.cfg.Database, r.cfg.Grafana, first, last)
	return &s, nil
}

// verify runs mcptrail verify over the stored events.
func (r *run) verify(ctx context.Context) (VerifyResult, error) {
	var res VerifyResult
	found := false
	p, err := r.stack.start(spec{name: "verify", path: r.tc.mcptrail, oneShot: true,
		args: []string{"verify", "--clickhouse", r.chURL, "--database", r.cfg.Database},
		stdout: func(line string) {
			r.con.line("verify", line)
			if m := verifyLine.FindStringSubmatch(line); m != nil {
				found = true
				res.Records, _ = strconv.ParseUint(m[1], 10, 64)
				res.Streams, _ = strconv.ParseUint(m[2], 10, 64)
				res.Problems, _ = strconv.ParseUint(m[3], 10, 64)
			}
		}})
	if err != nil {
		return res, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return res, ctx.Err()
	}
	res.ExitCode = p.exitCode()
	if !found || res.ExitCode > 1 {
		return res, fmt.Errorf("mcptrail verify failed (%v); last output:\n%s", exitText(p.err), p.lastLines())
	}
	return res, nil
}

// spooled counts the records still queued in the collectors' spools under
// root (every collector has exited, so none holds a spool).
func spooled(root string) (uint64, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("collector spools: %w", err)
	}
	var n uint64
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sp, err := spool.Open(filepath.Join(root, e.Name()), spool.Options{})
		if err != nil {
			return 0, fmt.Errorf("collector spool %s: %w", e.Name(), err)
		}
		n += uint64(sp.Stats().Records)
		if err := sp.Close(); err != nil {
			return 0, fmt.Errorf("collector spool %s: %w", e.Name(), err)
		}
	}
	return n, nil
}
