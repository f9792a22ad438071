package demo

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Attacks the scenarios act out; the summary attributes findings to them.
const (
	attackExfiltration = "exfiltration"
	attackTokenReplay  = "token-replay"
	attackRugPull      = "rug-pull"
)

// Server names in the records.
const (
	filesystemName = "filesystem"
	everythingName = "everything"
	httpAName      = "everything-a"
	httpBName      = "everything-b"
)

// scenario is one piece of the agent's work: an ordinary task, or an
// attack acted out the way it happens (the agent follows what it is told,
// a server changes under it, a token goes where it should not).
type scenario struct {
	name   string
	what   string
	attack string // empty for ordinary work
	// afterDrain: the detector must have seen everything before this
	// scenario starts (the rug pull compares definitions with earlier
	// sessions').
	afterDrain bool
	// run is a method of agent (a method expression).
	run func(*agent, context.Context) error
}

// scenarios is the agent's script, in order: ordinary work first, then
// the attacks.
func scenarios() []scenario {
	return []scenario{
		{name: "notes", what: "catch up on the week's notes (filesystem)", run: (*agent).catchUp},
		{name: "weekly-summary", what: "write the weekly summary and tick it off the to-do list (filesystem)", run: (*agent).weeklySummary},
		{name: "archive", what: "archive old notes and look at the billing project (filesystem)", run: (*agent).archive},
		{name: "everything", what: "use the everything server's tools, resources and prompts (stdio)", run: (*agent).everything},
		{name: "http-a", what: "use everything-a over HTTP with its own token", run: func(a *agent, ctx context.Context) error { return a.httpWork(ctx, a.httpA) }},
		{name: "http-b", what: "use everything-b over HTTP with its own token", run: func(a *agent, ctx context.Context) error { return a.httpWork(ctx, a.httpB) }},
		{name: "exfiltration", attack: attackExfiltration, what: "summarize a partner's guide whose hidden text tells the agent to publish the project's .env", run: (*agent).exfiltrate},
		{name: "token-replay", attack: attackTokenReplay, what: "a token issued for everything-a is presented to everything-b too", run: (*agent).replayToken},
		{name: "rug-pull", attack: attackRugPull, afterDrain: true, what: "server-filesystem comes back as an update whose read_text_file description carries instructions", run: (*agent).rugPull},
	}
}

// agent is the scripted MCP client: it connects to the servers through
// the collectors (wrap for stdio, proxy for HTTP) and calls tools as an
// AI agent working for a user would.
type agent struct {
	r      *run
	client *mcp.Client
	ws     *workspace
	// fsLaunch and updateLaunch start server-filesystem and its poisoned
	// update.
	fsLaunch, updateLaunch []string
	everythingLaunch       []string
	httpA, httpB           *httpServer
	tokenKey               []byte
}

func newAgent(r *run, ws *workspace) *agent {
	// No roots (deprecated in MCP 2026-07-28): the servers are told their
	// directories on the command line.
	client := mcp.NewClient(&mcp.Implementation{Name: "demo-agent", Version: "1.0.0"}, &mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}})
	return &agent{r: r, client: client, ws: ws, tokenKey: []byte(randomString(32, "0123456789abcdef"))}
}

func (a *agent) say(format string, args ...any) { a.r.con.line("agent", fmt.Sprintf(format, args...)) }

// session is one MCP session of the agent.
type session struct {
	a      *agent
	server string
	cs     *mcp.ClientSession
	proc   *proc // the collector wrapping a stdio server; nil over HTTP
	// transport holds an HTTP session's connections.
	transport *http.Transport
}

// stdio starts command through `mcptrail-collector wrap` under the server
// name and opens a session with it.
func (a *agent) stdio(ctx context.Context, server string, command []string) (*session, error) {
	args := append([]string{"wrap", "--server-name", server}, a.r.collectorFlags()...)
	args = append(append(args, "--"), command...)
	p, err := a.r.stack.command(spec{name: "wrap " + server, path: a.r.tc.collector, args: args, stdio: true})
	if err != nil {
		return nil, err
	}
	cs, err := a.client.Connect(ctx, &mcp.CommandTransport{Command: p.cmd, TerminateDuration: stdioGrace}, nil)
	if err != nil {
		p.release()
		return nil, fmt.Errorf("connect to %s through mcptrail-collector wrap: %w", server, err)
	}
	a.r.stack.adopt(p)
	return &session{a: a, server: server, cs: cs, proc: p}, nil
}

// bearer adds a bearer token to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(req)
}

// http opens a session with h through its proxy, presenting token. Each
// session has connections of its own, as separate agents would: the proxy
// keys exchanges outside an MCP session (the SDK's server/discover probe)
// by the client's connection.
func (a *agent) http(ctx context.Context, h *httpServer, token string) (*session, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cs, err := a.client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:             h.endpoint,
		HTTPClient:           &http.Client{Transport: bearer{token: token, base: tr}},
		DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("connect to %s through mcptrail-collector proxy %s: %w", h.name, h.endpoint, err)
	}
	return &session{a: a, server: h.name, cs: cs, transport: tr}, nil
}

// stdioGrace is how long a stdio server has to exit once its input is
// closed before it gets SIGTERM (the MCP stdio shutdown sequence);
// server-everything keeps running until then.
const stdioGrace = 2 * time.Second

// close ends the session; for stdio, the collector delivers what it
// captured and exits with the server, normally or on the SIGTERM of the
// shutdown sequence.
func (s *session) close() error {
	err := s.cs.Close()
	if s.proc != nil {
		s.proc.release()
		if code := s.proc.exitCode(); code != 0 && code != 128+int(syscall.SIGTERM) {
			return fmt.Errorf("%s: mcptrail-collector wrap exited with %d; last output:\n%s", s.server, code, s.proc.lastLines())
		}
		return nil
	}
	s.transport.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("close the session with %s: %w", s.server, err)
	}
	return nil
}

// tools lists the server's tools, as an agent does before it works.
func (s *session) tools(ctx context.Context) (map[string]*mcp.Tool, error) {
	res, err := s.cs.ListTools(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: tools/list: %w", s.server, err)
	}
	tools := make(map[string]*mcp.Tool, len(res.Tools))
	names := make([]string, 0, len(res.Tools))
	for _, t := range res.Tools {
		tools[t.Name] = t
		names = append(names, t.Name)
	}
	sort.Strings(names)
	s.a.say("  %s: tools/list: %d tools (%s)", s.server, len(names), strings.Join(names, ", "))
	return tools, nil
}

// call calls a tool and returns the text of its result; a tool error is
// an error.
func (s *session) call(ctx context.Context, tool string, args map[string]any) (string, error) {
	s.a.say("  %s: %s", s.server, strings.TrimSpace(tool+" "+s.a.describe(args)))
	res, err := s.cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", s.server, tool, err)
	}
	var text strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			text.WriteString(t.Text)
		}
	}
	if res.IsError {
		return "", fmt.Errorf("%s: %s failed: %s", s.server, tool, text.String())
	}
	return text.String(), nil
}

// describe shows a call's arguments briefly, with workspace paths
// relative to the workspace.
func (a *agent) describe(args map[string]any) string {
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := fmt.Sprint(args[k])
		v = strings.ReplaceAll(v, a.ws.root+string(filepath.Separator), "")
		v = strings.ReplaceAll(v, a.ws.root, ".")
		v = strings.ReplaceAll(v, "\n", " ")
		if len(v) > 60 {
			v = v[:57] + "..."
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

// withSession runs work in a new session and closes it.
func withSession(ctx context.Context, open func() (*session, error), work func(*session) error) error {
	s, err := open()
	if err != nil {
		return err
	}
	werr := work(s)
	cerr := s.close()
	if werr != nil {
		return werr
	}
	return cerr
}

func (a *agent) filesystem(ctx context.Context, work func(*session) error) error {
	return withSession(ctx, func() (*session, error) { return a.stdio(ctx, filesystemName, a.fsLaunch) }, work)
}

// calls runs tool calls in order, stopping at the first error.
func calls(ctx context.Context, s *session, steps ...toolCall) error {
	for _, c := range steps {
		if _, err := s.call(ctx, c.tool, c.args); err != nil {
			return err
		}
	}
	return nil
}

type toolCall struct {
	tool string
	args map[string]any
}

// catchUp: "What is on my plate this week?"
func (a *agent) catchUp(ctx context.Context) error {
	return a.filesystem(ctx, func(s *session) error {
		if _, err := s.tools(ctx); err != nil {
			return err
		}
		return calls(ctx, s,
			toolCall{"list_allowed_directories", map[string]any{}},
			toolCall{"list_directory", map[string]any{"path": a.ws.root}},
			toolCall{"read_text_file", map[string]any{"path": a.ws.path(todoFile)}},
			toolCall{"search_files", map[string]any{"path": a.ws.path("notes"), "pattern": "*.md"}},
			toolCall{"read_text_file", map[string]any{"path": a.ws.path(meetingTwo), "head": 6}},
		)
	})
}

// weeklySummary: "Write this week's summary from the meeting notes and
// tick it off my list."
func (a *agent) weeklySummary(ctx context.Context) error {
	return a.filesystem(ctx, func(s *session) error {
		if _, err := s.tools(ctx); err != nil {
			return err
		}
		if _, err := s.call(ctx, "read_multiple_files", map[string]any{"paths": []string{a.ws.path(meetingOne), a.ws.path(meetingTwo)}}); err != nil {
			return err
		}
		summary := "# Week 10 summary\n\n" +
			"- Invoice export: pagination is being added and ships behind a flag on Wednesday.\n" +
			"- Card payments: retry logic for failed payments is in review.\n" +
			"- Acme Payments: integration started in the sandbox; webhooks and the go-live checklist are next.\n" +
			"- Operations: the staging database ran out of connections twice; the limit goes up and an alert is added.\n"
		return calls(ctx, s,
			toolCall{"write_file", map[string]any{"path": a.ws.path(summaryFile), "content": summary}},
			toolCall{"edit_file", map[string]any{"path": a.ws.path(todoFile), "edits": []map[string]any{{
				"oldText": "- [ ] Write the weekly summary from the meeting notes",
				"newText": "- [x] Write the weekly summary from the meeting notes",
			}}}},
			toolCall{"get_file_info", map[string]any{"path": a.ws.path(summaryFile)}},
		)
	})
}

// archive: "Move the old stand-up notes to the archive, and remind me what
// the billing service does."
func (a *agent) archive(ctx context.Context) error {
	return a.filesystem(ctx, func(s *session) error {
		if _, err := s.tools(ctx); err != nil {
			return err
		}
		return calls(ctx, s,
			toolCall{"create_directory", map[string]any{"path": a.ws.path(archiveDir)}},
			toolCall{"move_file", map[string]any{"source": a.ws.path(meetingOne), "destination": a.ws.path(archiveDir + "/" + filepath.Base(meetingOne))}},
			toolCall{"list_directory_with_sizes", map[string]any{"path": a.ws.path("notes")}},
			toolCall{"directory_tree", map[string]any{"path": a.ws.path("projects")}},
			toolCall{"read_text_file", map[string]any{"path": a.ws.path(projectREADME)}},
		)
	})
}

// everything exercises server-everything over stdio: tools, resources,
// prompts.
func (a *agent) everything(ctx context.Context) error {
	return withSession(ctx, func() (*session, error) { return a.stdio(ctx, everythingName, a.everythingLaunch) }, func(s *session) error {
		if _, err := s.tools(ctx); err != nil {
			return err
		}
		if err := calls(ctx, s,
			toolCall{"echo", map[string]any{"message": "hello from the demo agent"}},
			toolCall{"get-sum", map[string]any{"a": 19, "b": 23}},
			toolCall{"get-annotated-message", map[string]any{"messageType": "success", "includeImage": false}},
		); err != nil {
			return err
		}
		res, err := s.cs.ListResources(ctx, nil)
		if err != nil {
			return fmt.Errorf("%s: resources/list: %w", s.server, err)
		}
		a.say("  %s: resources/list: %d resources", s.server, len(res.Resources))
		if len(res.Resources) > 0 {
			uri := res.Resources[0].URI
			a.say("  %s: resources/read %s", s.server, uri)
			if _, err := s.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri}); err != nil {
				return fmt.Errorf("%s: resources/read %s: %w", s.server, uri, err)
			}
		}
		prompts, err := s.cs.ListPrompts(ctx, nil)
		if err != nil {
			return fmt.Errorf("%s: prompts/list: %w", s.server, err)
		}
		a.say("  %s: prompts/list: %d prompts", s.server, len(prompts.Prompts))
		for _, p := range prompts.Prompts {
			if len(p.Arguments) == 0 {
				a.say("  %s: prompts/get %s", s.server, p.Name)
				if _, err := s.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: p.Name}); err != nil {
					return fmt.Errorf("%s: prompts/get %s: %w", s.server, p.Name, err)
				}
				break
			}
		}
		return nil
	})
}

// token signs a token for h's resource.
func (a *agent) token(h *httpServer) (string, error) {
	return newAccessToken(h.upstream, time.Now()).sign(a.tokenKey)
}

// httpWork uses h over HTTP with a token issued for it.
func (a *agent) httpWork(ctx context.Context, h *httpServer) error {
	tok, err := a.token(h)
	if err != nil {
		return err
	}
	return withSession(ctx, func() (*session, error) { return a.http(ctx, h, tok) }, func(s *session) error {
		if _, err := s.tools(ctx); err != nil {
			return err
		}
		return calls(ctx, s,
			toolCall{"echo", map[string]any{"message": "status report for " + h.name}},
			toolCall{"get-sum", map[string]any{"a": 1200, "b": 345}},
		)
	})
}

// exfiltrate: the user asks for a summary of a document a partner sent;
// its hidden text tells the assistant to copy the project's .env to the
// folder published to partners, and the agent does as it is told.
func (a *agent) exfiltrate(ctx context.Context) error {
	return a.filesystem(ctx, func(s *session) error {
		if _, err := s.tools(ctx); err != nil {
			return err
		}
		if _, err := s.call(ctx, "list_directory", map[string]any{"path": a.ws.path(inboxDir)}); err != nil {
			return err
		}
		if _, err := s.call(ctx, "read_text_file", map[string]any{"path": a.ws.path(guideFile)}); err != nil {
			return err
		}
		a.say("  (the guide's hidden comment tells the assistant to copy %s to %s; the agent complies)", envFile, dropFile)
		secrets, err := s.call(ctx, "read_text_file", map[string]any{"path": a.ws.path(envFile)})
		if err != nil {
			return err
		}
		_, err = s.call(ctx, "write_file", map[string]any{"path": a.ws.path(dropFile), "content": secrets})
		return err
	})
}

// replayToken: the agent holds a token issued for everything-a and uses
// it there; then it presents the same token to everything-b (token
// passthrough: a server, or an agent, reusing a token outside its
// audience).
func (a *agent) replayToken(ctx context.Context) error {
	tok, err := a.token(a.httpA)
	if err != nil {
		return err
	}
	if err := withSession(ctx, func() (*session, error) { return a.http(ctx, a.httpA, tok) }, func(s *session) error {
		if _, err := s.tools(ctx); err != nil {
			return err
		}
		return calls(ctx, s, toolCall{"echo", map[string]any{"message": "quarterly numbers are ready"}})
	}); err != nil {
		return err
	}
	a.say("  (the same token, issued for %s, now goes to %s)", a.httpA.upstream, a.httpB.name)
	return withSession(ctx, func() (*session, error) { return a.http(ctx, a.httpB, tok) }, func(s *session) error {
		if _, err := s.tools(ctx); err != nil {
			return err
		}
		return calls(ctx, s,
			toolCall{"echo", map[string]any{"message": "forwarding the quarterly numbers"}},
			toolCall{"get-sum", map[string]any{"a": 5, "b": 8}},
		)
	})
}

// rugPull: the host's configuration now launches an update of
// server-filesystem under the same name. The user asks two things; the
// host lists the tools before each turn (and so receives the poisoned
// description) and the agent reads files.
func (a *agent) rugPull(ctx context.Context) error {
	return withSession(ctx, func() (*session, error) { return a.stdio(ctx, filesystemName, a.updateLaunch) }, func(s *session) error {
		for _, file := range []string{todoFile, meetingTwo} {
			tools, err := s.tools(ctx)
			if err != nil {
				return err
			}
			if t := tools["read_text_file"]; t == nil || !strings.Contains(t.Description, "<IMPORTANT>") {
				return fmt.Errorf("%s: the update does not serve the changed read_text_file description", s.server)
			}
			if _, err := s.call(ctx, "read_text_file", map[string]any{"path": a.ws.path(file)}); err != nil {
				return err
			}
		}
		return nil
	})
}
