package detector

import (
	"bytes"
	"container/list"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/go-json-experiment/json"

	"github.com/mcptrail/mcptrail/detector/textscan"
	"github.com/mcptrail/mcptrail/schemas"
	"github.com/mcptrail/mcptrail/schemas/mcp"
)

// Rule ids of the tool-definition detections.
const (
	RuleToolPoisonedDescription = "tool.poisoned-description"
	RuleToolPoisonedSchema      = "tool.poisoned-schema"
	RuleToolHiddenCharacters    = "tool.hidden-characters"
	RuleToolRugPull             = "tool.rug-pull"
	RuleToolListChanged         = "tool.list-changed"
	RuleServerChanged           = "server.changed"
	RuleToolShadowedName        = "tool.shadowed-name"
	RuleToolCrossServerRef      = "tool.cross-server-reference"
)

// Bounds of the tool-definition state.
const (
	// maxToolHistory bounds the (server, tool) definitions remembered
	// across sessions; past it the least recently seen go.
	maxToolHistory = 100_000
	// maxServerHistory bounds the server names remembered across sessions.
	maxServerHistory = 20_000
	// maxAnalyses bounds the cache of analysed definitions (by hash).
	maxAnalyses = 50_000
	// maxKnown bounds the definitions (or versions, commands) remembered
	// per tool (or server): a change back to one of them is not new.
	maxKnown = 8
	// maxKeptDescription bounds the description text kept per tool for
	// diffs.
	maxKeptDescription = 8 << 10
	// descMedium is the description score from which a definition is
	// reported as suspicious (below InjectionStrong, which is high).
	descMedium = 2.0
)

// toolDefs flags poisoned tool definitions (instructions, secret-file
// references or invisible characters in descriptions and input schemas),
// definitions that change after first seen (rug pulls), servers whose
// version or launch command changes, tool names served twice in a session
// and descriptions that refer to other servers' tools.
type toolDefs struct {
	analyses map[uint64]*toolAnalysis
	// versions are the server versions of initialize results, by the
	// xxhash of the result.
	versions map[uint64]initVersion
	tools    *lru[toolKey, *toolHistory]
	servers  *lru[string, *serverHistory]
	sessions map[string]*toolSession
	// last caches the session of the previous event.
	lastID string
	last   *toolSession
}

func newToolDefs() *toolDefs {
	return &toolDefs{
		analyses: map[uint64]*toolAnalysis{},
		versions: map[uint64]initVersion{},
		tools:    newLRU[toolKey, *toolHistory](maxToolHistory),
		servers:  newLRU[string, *serverHistory](maxServerHistory),
		sessions: map[string]*toolSession{},
	}
}

type toolKey struct{ server, tool string }

// toolSnap is one definition of a tool as remembered.
type toolSnap struct {
	hash   uint64
	desc   string // revealed, at most maxKeptDescription bytes
	schema string // at most maxKeptDescription bytes
	a      *toolAnalysis
}

// toolHistory is what the detection remembers of a (server, tool) across
// sessions: the latest definition and the hashes of the ones seen.
type toolHistory struct {
	last  toolSnap
	known []uint64
}

// serverHistory is what the detection remembers of a server name across
// sessions: the versions and launch commands (or URLs) seen.
type serverHistory struct {
	versions []string
	launches []string
}

// toolSession is the per-session state of the detection.
type toolSession struct {
	// defs are the definitions the session listed, by server and tool,
	// except those of lists (one per server: its first, when its names are
	// unique) kept whole in lists; counted keys of both together.
	defs    map[toolKey]toolSnap
	lists   smallMap[string, *decodedTools]
	inLists int
	// perTool marks the servers whose definitions are in defs.
	perTool smallMap[string, struct{}]
	// servers are the servers the session used, as last seen (at most
	// maxSessionServers, by name: sessions have a handful).
	servers []schemas.Server
}

// maxSessionServers bounds the servers a toolSession remembers.
const maxSessionServers = 64

func (d *toolDefs) session(s *Session) *toolSession {
	if s.ID == d.lastID && d.last != nil {
		return d.last
	}
	ts := d.sessions[s.ID]
	if ts == nil {
		ts = &toolSession{}
		d.sessions[s.ID] = ts
	}
	d.lastID, d.last = s.ID, ts
	return ts
}

// EndSession drops the session's state.
func (d *toolDefs) EndSession(s *Session, _ Emit) {
	delete(d.sessions, s.ID)
	if d.lastID == s.ID {
		d.lastID, d.last = "", nil
	}
}

func (d *toolDefs) Observe(s *Session, o *Observation, emit Emit) {
	ev := o.Event
	ts := d.session(s)
	if ev.BatchIndex <= 0 {
		d.serverChanged(s, ts, o, emit)
	}
	switch {
	case o.Tools != nil:
		d.toolsListed(s, ts, o, emit)
	case ev.Kind == schemas.EventKind(mcp.KindNotification) && ev.Method == "notifications/tools/list_changed" && ev.Dir == schemas.ServerToClient:
		if s.once(RuleToolListChanged, ev.ServerName) {
			emit(withServer(s.NewFinding(ev.TS, RuleToolListChanged, Low, "A server announced that its tool list changed", nil, []Evidence{{
				What: "notifications/tools/list_changed from " + ev.ServerName + "; later definitions are compared with earlier ones",
			}}), ev.ServerName, ""))
		}
	}
}

// serverChanged compares the server's version and launch command (or URL)
// with those seen under the same name before.
func (d *toolDefs) serverChanged(s *Session, ts *toolSession, o *Observation, emit Emit) {
	srv := o.Record.Server
	if o.Call != nil && o.Call.Method == "initialize" && o.Event.Dir == schemas.ServerToClient && len(o.Event.Result) > 0 {
		if v := d.serverVersion(o.Event.Result); v != "" {
			srv.Version = v
		}
	}
	i := slices.IndexFunc(ts.servers, func(p schemas.Server) bool { return p.Name == srv.Name })
	if i >= 0 && ts.servers[i] == srv {
		return
	}
	switch {
	case len(ts.servers) >= maxSessionServers:
	case i >= 0:
		ts.servers[i] = srv
	default:
		ts.servers = append(ts.servers, srv)
	}
	h, _ := d.servers.get(srv.Name)
	if h == nil {
		h = &serverHistory{}
		d.servers.put(srv.Name, h)
	}
	// how and where say how the server runs: "command" and its command, or
	// "url" and its URL. Their launch string, how + " " + where, is built
	// only when new: every session's servers come here.
	how, where := "", ""
	switch {
	case srv.Command != "":
		how, where = "command", srv.Command
	case srv.URL != "":
		how, where = "url", srv.URL
	}
	if srv.Version != "" && !slices.Contains(h.versions, srv.Version) {
		if len(h.versions) > 0 && s.once(RuleServerChanged, "v"+srv.Name+srv.Version) {
			f := s.NewFinding(o.Event.TS, RuleServerChanged, Low, "A server reports a version not seen before under its name", nil, []Evidence{{
				What: fmt.Sprintf("server %q version %q; earlier: %s", srv.Name, srv.Version, strings.Join(h.versions, ", ")),
			}})
			f.ID, f.Server = FindingID(RuleServerChanged, s.ID, "version "+srv.Name+" "+srv.Version, nil), srv.Name
			emit(f)
		}
		h.versions = pushKnown(h.versions, srv.Version)
	}
	if how != "" && !slices.ContainsFunc(h.launches, func(l string) bool { return isLaunch(l, how, where) }) {
		launch := how + " " + where
		if len(h.launches) > 0 && s.once(RuleServerChanged, "l"+srv.Name+launch) {
			f := s.NewFinding(o.Event.TS, RuleServerChanged, Medium, "A server runs from a command or URL not seen before under its name", nil, []Evidence{{
				What:    fmt.Sprintf("server %q launched by a new %s; earlier: %s", srv.Name, how, strings.Join(h.launches, "; ")),
				Excerpt: textscan.Excerpt(launch, 0), Hash: hashString(launch),
			}})
			f.ID, f.Server = FindingID(RuleServerChanged, s.ID, "launch "+srv.Name+" "+launch, nil), srv.Name
			emit(f)
		}
		h.launches = pushKnown(h.launches, launch)
	}
}

// isLaunch reports whether launch is how + " " + where.
func isLaunch(launch, how, where string) bool {
	return len(launch) == len(how)+1+len(where) && launch[len(how)] == ' ' &&
		strings.HasPrefix(launch, how) && strings.HasSuffix(launch, where)
}

// serverVersion returns the serverInfo.version of an initialize result,
// or "". Servers answer every session's initialize alike, so the answer is
// kept by the result's bytes.
func (d *toolDefs) serverVersion(result []byte) string {
	key := xxhash.Sum64(result)
	if v, ok := d.versions[key]; ok && bytes.Equal(v.raw, result) {
		return v.version
	}
	var r struct {
		ServerInfo struct {
			Version string `json:"version"`
		} `json:"serverInfo"`
	}
	if json.Unmarshal(result, &r) != nil {
		r.ServerInfo.Version = ""
	}
	if len(result) <= maxKeptDescription {
		if len(d.versions) >= maxServerHistory {
			clear(d.versions)
		}
		d.versions[key] = initVersion{raw: bytes.Clone(result), version: r.ServerInfo.Version}
	}
	return r.ServerInfo.Version
}

// initVersion is an initialize result and the server version it gives.
type initVersion struct {
	raw     []byte
	version string
}

func pushKnown[T comparable](list []T, v T) []T {
	if len(list) >= maxKnown {
		list = slices.Delete(list, 0, 1)
	}
	return append(list, v)
}

// toolsListed runs the definition detections over a tools/list result.
func (d *toolDefs) toolsListed(s *Session, ts *toolSession, o *Observation, emit Emit) {
	server := o.Event.ServerName
	first := d.keepList(ts, server, o.toolList)
	for i := range o.Tools {
		t := &o.Tools[i]
		a := d.analyze(t)
		d.poisoned(s, o, t, a, emit)
		d.rugPull(s, ts, o, t, a, first, emit)
	}
	d.shadowing(s, o, server, emit)
}

// keepList reports whether the session keeps list, the server's tools,
// whole: the server's first list in the session, with unique names, while
// the session remembers fewer than maxSessionDefs definitions. Nothing was
// listed before under those names, and the session shares the list
// instead of copying each definition. Otherwise the definitions go to
// ts.defs one by one, after those of a list kept whole before.
func (d *toolDefs) keepList(ts *toolSession, server string, list *decodedTools) bool {
	_, kept := ts.lists.get(server)
	_, perTool := ts.perTool.get(server)
	if list != nil && !kept && !perTool &&
		len(list.toolsByName()) == len(list.tools) && ts.inLists+len(ts.defs)+len(list.tools) <= maxSessionDefs {
		ts.lists.put(server, list)
		ts.inLists += len(list.tools)
		return true
	}
	if ts.defs == nil {
		ts.defs = map[toolKey]toolSnap{}
	}
	ts.perTool.put(server, struct{}{})
	if kept, ok := ts.lists.take(server); ok {
		ts.inLists -= len(kept.tools)
		for i := range kept.tools {
			t := &kept.tools[i]
			ts.defs[toolKey{t.Server, t.Name}] = snapOf(t, d.analyze(t))
		}
	}
	return false
}

// snapOf is the remembered form of t, whose analysis is a.
func snapOf(t *Tool, a *toolAnalysis) toolSnap {
	return toolSnap{hash: t.Hash, desc: clip(a.revealed), schema: clip(t.Schema), a: a}
}

// maxSessionDefs bounds the definitions a session remembers.
const maxSessionDefs = 4096

// analyze returns the analysis of a definition, cached by its hash.
func (d *toolDefs) analyze(t *Tool) *toolAnalysis {
	// A hash may collide (xxhash is no defence against a crafted
	// definition): the entry must be of the same definition.
	if a := d.analyses[t.Hash]; a != nil && a.name == t.Name && a.description == t.Description && a.schemaJSON == t.Schema {
		return a
	}
	a := analyzeTool(t)
	if len(d.analyses) >= maxAnalyses {
		clear(d.analyses)
	}
	d.analyses[t.Hash] = a
	return a
}

// poisoned reports what the definition's analysis found.
func (d *toolDefs) poisoned(s *Session, o *Observation, t *Tool, a *toolAnalysis, emit Emit) {
	ts := o.Event.TS
	id := o.Call.ID
	calls := []*Call{o.Call}
	if a.hidden.Any() && s.once(RuleToolHiddenCharacters, t.Server+"\x00"+t.Name) {
		// Tag characters, bidi overrides and terminal escapes have no place
		// in a definition; zero-width characters (emoji joiners) and other
		// controls can be sloppy text.
		sev := Medium
		for k := range a.hidden.Counts {
			if k == textscan.HiddenTag || k == textscan.HiddenBidi || k == textscan.HiddenANSI {
				sev = High
			}
		}
		ev := Evidence{What: "hidden characters in the definition (" + a.hiddenWhere + "): " + hiddenKinds(a.hidden), CallID: id, Tool: t.Name, Hash: hashString(t.Description + t.Schema)}
		if a.hidden.Decoded != "" {
			ev.Excerpt = textscan.Excerpt(a.hidden.Decoded, 0)
		} else {
			ev.Excerpt = a.excerpt
		}
		emit(withServer(s.NewFinding(ts, RuleToolHiddenCharacters, sev, "A tool definition hides text from the user (invisible or escape characters)", calls, []Evidence{ev}), t.Server, t.Name))
	}
	if sev, ok := a.descSeverity(); ok && s.once(RuleToolPoisonedDescription, t.Server+"\x00"+t.Name) {
		var ev []Evidence
		if a.score >= descMedium {
			ev = append(ev, Evidence{What: fmt.Sprintf("instructions aimed at the model: %s (score %.1f)", strings.Join(a.signals, ", "), a.score), CallID: id, Tool: t.Name, Excerpt: a.excerpt, Hash: hashString(t.Description)})
		}
		if a.sensitive != "" {
			ev = append(ev, Evidence{What: "refers to a credential file: " + a.sensitive, CallID: id, Tool: t.Name, Excerpt: a.sensitiveExcerpt, Hash: hashString(t.Description)})
		}
		emit(withServer(s.NewFinding(ts, RuleToolPoisonedDescription, sev, "A tool description carries instructions aimed at the model (tool poisoning)", calls, ev), t.Server, t.Name))
	}
	if len(a.schema) > 0 && s.once(RuleToolPoisonedSchema, t.Server+"\x00"+t.Name) {
		sev := Info
		ev := make([]Evidence, 0, min(len(a.schema), 4))
		for i, is := range a.schema {
			sev = max(sev, is.sev)
			if i < 4 {
				ev = append(ev, Evidence{What: is.what + " at " + is.path, CallID: id, Tool: t.Name, Excerpt: is.excerpt, Hash: hashString(t.Schema)})
			}
		}
		emit(withServer(s.NewFinding(ts, RuleToolPoisonedSchema, sev, "A tool's input schema asks for data the tool should not need, or carries instructions", calls, ev), t.Server, t.Name))
	}
}

// withServer sets a definition finding's server and makes its id name the
// tool.
func withServer(f Finding, server, tool string) Finding {
	f.Server = server
	f.ID = FindingID(f.Rule, f.Session, server+"\x00"+tool, f.CallIDs)
	return f
}

func hiddenKinds(h textscan.Hidden) string {
	kinds := make([]string, 0, len(h.Counts))
	for k, n := range h.Counts {
		kinds = append(kinds, fmt.Sprintf("%s×%d", k, n))
	}
	slices.Sort(kinds)
	return strings.Join(kinds, ", ")
}

// rugPull compares a definition with the one seen before for the same
// server and tool: earlier in the session, or in an earlier session.
//
// first tells that the list is the server's first in the session, kept
// whole (keepList): nothing was seen earlier in the session.
func (d *toolDefs) rugPull(s *Session, ts *toolSession, o *Observation, t *Tool, a *toolAnalysis, first bool, emit Emit) {
	key := toolKey{t.Server, t.Name}
	snap := snapOf(t, a)
	var prev toolSnap
	inSession := false
	if !first {
		prev, inSession = ts.defs[key]
		if ts.inLists+len(ts.defs) < maxSessionDefs || inSession {
			ts.defs[key] = snap
		}
	}
	h, _ := d.tools.get(key)
	if h == nil {
		h = &toolHistory{}
		d.tools.put(key, h)
	}
	defer func() {
		h.last = snap
		if !slices.Contains(h.known, t.Hash) {
			h.known = pushKnown(h.known, t.Hash)
		}
	}()
	var old toolSnap
	where := ""
	switch {
	case inSession && prev.hash != t.Hash:
		old, where = prev, "earlier in this session"
	case !inSession && len(h.known) > 0 && !slices.Contains(h.known, t.Hash):
		old, where = h.last, "in an earlier session"
	default:
		return
	}
	if !s.once(RuleToolRugPull, fmt.Sprintf("%s\x00%s\x00%x", t.Server, t.Name, t.Hash)) {
		return
	}
	sev := Medium
	na, oa := a, old.a
	switch {
	case na.score >= textscan.InjectionStrong && oa.score < textscan.InjectionStrong,
		na.score >= textscan.InjectionWeak && na.score >= oa.score+1.5,
		na.hidden.Any() && !oa.hidden.Any(),
		na.sensitive != "" && oa.sensitive == "",
		na.schemaSev() >= High && oa.schemaSev() < High:
		sev = High
	}
	what := fmt.Sprintf("definition %x changed to %x (seen %s)", old.hash, t.Hash, where)
	excerpt := ""
	if old.desc != snap.desc {
		added := diffAdded(old.desc, snap.desc)
		what += "; description changed"
		excerpt = textscan.Excerpt(added, 0)
	}
	if old.schema != snap.schema {
		what += "; input schema changed"
		if excerpt == "" {
			excerpt = textscan.Excerpt(diffAdded(old.schema, snap.schema), 0)
		}
	}
	if na.score > oa.score {
		what += fmt.Sprintf("; instruction score %.1f -> %.1f", oa.score, na.score)
	}
	title := "A tool's definition changed after it was first seen (rug pull)"
	emit(withServer(s.NewFinding(o.Event.TS, RuleToolRugPull, sev, title, []*Call{o.Call}, []Evidence{{
		What: what, CallID: o.Call.ID, Tool: t.Name, Excerpt: excerpt, Hash: hashString(t.Description + "\x00" + t.Schema),
	}}), t.Server, t.Name))
}

// clip cuts s to maxKeptDescription bytes, at a UTF-8 boundary.
func clip(s string) string {
	if len(s) <= maxKeptDescription {
		return s
	}
	end := maxKeptDescription
	for end > 0 && s[end]&0xC0 == 0x80 {
		end--
	}
	return s[:end]
}

// diffAdded returns the part of b that differs from a, after their
// common prefix and suffix (what an edit inserted or replaced).
func diffAdded(a, b string) string {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	q := 0
	for q < len(a)-p && q < len(b)-p && a[len(a)-1-q] == b[len(b)-1-q] {
		q++
	}
	if p >= len(b)-q {
		return "(text removed) " + a[p:len(a)-q]
	}
	// Start at a word boundary (at most 40 bytes back) so the excerpt reads.
	for back := 0; p > 0 && b[p-1] != ' ' && back < 40; back++ {
		p--
	}
	return b[p : len(b)-q]
}

// shadowing flags tool names the server shares with another server of
// the session, and descriptions that refer to another server's tools.
func (d *toolDefs) shadowing(s *Session, o *Observation, server string, emit Emit) {
	mine := s.Servers[server]
	others := make([]string, 0, len(s.Servers))
	for name := range s.Servers {
		if name != server {
			others = append(others, name)
		}
	}
	if len(others) == 0 {
		return
	}
	slices.Sort(others)
	ts := o.Event.TS
	mineNames, mineHash := s.serverToolNames(server)
	for _, name := range mineNames {
		t := mine[name]
		for _, other := range others {
			ot := s.Servers[other][name]
			if ot == nil || !s.once(RuleToolShadowedName, name) {
				continue
			}
			sev := Medium
			if ot.Hash == t.Hash {
				sev = Low
			}
			if d.analyze(t).score >= textscan.InjectionStrong || d.analyze(ot).score >= textscan.InjectionStrong {
				sev = High
			}
			emit(withServer(s.NewFinding(ts, RuleToolShadowedName, sev, "Two servers of the session serve a tool of the same name (shadowing)", []*Call{o.Call}, []Evidence{
				{What: fmt.Sprintf("tool %q served by %q and %q", name, server, other), CallID: o.Call.ID, Tool: name, Hash: strconv.FormatUint(t.Hash, 16)},
			}), server, name))
		}
	}
	// References in either direction: this server's descriptions naming
	// the others' tools, and the others' descriptions naming this one's.
	for _, other := range others {
		theirs := s.Servers[other]
		theirNames, theirHash := s.serverToolNames(other)
		d.crossRefs(s, o, server, mine, mineNames, other, theirNames, theirHash, emit)
		d.crossRefs(s, o, other, theirs, theirNames, server, mineNames, mineHash, emit)
	}
}

// crossRefs flags descriptions of server's tools that name tools of other
// (not served by server itself). names and otherNames are the two
// servers' tool names, sorted; otherHash is the toolNamesHash of
// otherNames.
func (d *toolDefs) crossRefs(s *Session, o *Observation, server string, tools map[string]*Tool, names []string, other string, otherNames []string, otherHash uint64, emit Emit) {
	for _, name := range names {
		t := tools[name]
		a := d.analyze(t)
		if len(a.words) == 0 {
			continue
		}
		for _, ref := range a.mentionsOf(otherNames, otherHash) {
			if ref == name || tools[ref] != nil {
				continue
			}
			if !s.once(RuleToolCrossServerRef, server+"\x00"+name+"\x00"+ref) {
				continue
			}
			sev := Medium
			window := a.around(ref)
			if a.score >= textscan.InjectionWeak || instructive.MatchString(window) {
				sev = High
			}
			emit(withServer(s.NewFinding(o.Event.TS, RuleToolCrossServerRef, sev, "A tool description refers to another server's tool (cross-server shadowing)", []*Call{o.Call}, []Evidence{{
				What: fmt.Sprintf("%q of server %q names %q of server %q", name, server, ref, other), CallID: o.Call.ID, Tool: name,
				Excerpt: textscan.Excerpt(window, 0), Hash: hashString(t.Description),
			}}), server, name))
		}
	}
}

func sortedNames(tools map[string]*Tool) []string {
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// instructive matches wording that tells the model how to behave.
var instructive = regexp.MustCompile(`(?i)\b(must|always|never|should|instead|whenever|do not|don'?t|make sure|ensure|required?|only (use|call|send)|redirect|change|replace|override|also (send|add|include|cc|bcc|copy|forward))\b`)

// toolAnalysis is what one definition's text shows, independent of the
// session.
type toolAnalysis struct {
	// name, description and schemaJSON are those of the definition
	// analysed (shared with it).
	name, description, schemaJSON string
	revealed                      string // the description as the model sees it
	// score is the injection score of the description plus the
	// definition-specific signals; signals name them; excerpt shows the
	// strongest.
	score   float64
	signals []string
	excerpt string
	// hidden is what HiddenChars found in the description or schema
	// strings; hiddenWhere says where.
	hidden      textscan.Hidden
	hiddenWhere string
	// sensitive is a credential file the description refers to.
	sensitive        string
	sensitiveExcerpt string
	instructs        bool // the description gives orders (read, pass, send)
	schema           []schemaIssue
	// words are the identifier-like words of the description and schema
	// descriptions (lower case), for references to other tools; text is
	// the lower-cased text they come from.
	words map[string]bool
	text  string
	orig  string
	// mentioned caches mentionsOf.
	mentioned namesFilter
}

// mentionsOf returns the names, in their order, that the description
// mentions (mentions). namesHash is their toolNamesHash.
func (a *toolAnalysis) mentionsOf(names []string, namesHash uint64) []string {
	return a.mentioned.filter(names, namesHash, a.mentions)
}

type schemaIssue struct {
	path, what, excerpt string
	sev                 Severity
}

func (a *toolAnalysis) schemaSev() Severity {
	sev := Info
	for _, is := range a.schema {
		sev = max(sev, is.sev)
	}
	return sev
}

// descSeverity is the severity of the description finding, if any.
func (a *toolAnalysis) descSeverity() (Severity, bool) {
	switch {
	case a.score >= textscan.InjectionStrong:
		return High, true
	case a.sensitive != "" && (a.instructs || a.score >= textscan.InjectionWeak):
		return High, true
	case a.score >= descMedium || a.sensitive != "":
		return Medium, true
	}
	return Info, false
}

// Signals specific to tool definitions, on top of textscan.InjectionScore.
var defSignals = []struct {
	name   string
	weight float64
	re     *regexp.Regexp
}{
	{"before_using", 1, regexp.MustCompile(`(?i)\b(before|prior to|when(ever)?|each time|every time) (you )?(using|calling|invoking|running|use|call|invoke|run)\b`)},
	{"pass_in_argument", 1, regexp.MustCompile("(?i)\\b(pass|put|place|include|insert|add|provide|send|supply|embed|append)\\b[^.\\n]{0,80}\\b(as|in|into|inside|via|within|to|through) (the |a |an )?[`'\"]?[\\w-]+[`'\"]? (argument|parameter|param|field|property|variable)\\b")},
	{"hide_from_user", 2, regexp.MustCompile(`(?i)\b(user|human)s? (should|must|does|do|need) (not|never|n'?t) (see|know|notice|be told|be informed|find out)\b|\b(hide|conceal) (this|it|these|that)\b[^.\n]{0,30}\b(from )?(the )?(user|human)\b|\bnot (be )?(visible|shown|displayed) to the user\b`)},
	{"threat", 1, regexp.MustCompile(`(?i)\b(otherwise|or else|if not,?)\b[^.\n]{0,30}\b(will|would|could)\b[^.\n]{0,20}\b(not work|fail|crash|break|stop working|be (lost|deleted|blocked))`)},
	{"sends_history", 2, regexp.MustCompile(`(?i)\b(forward|send|include|pass|append|attach|copy|share|provide|report|upload|post|add|dump|leak|transmit|summari[sz]e)\b[^.\n]{0,60}\b((conversation|chat|message|session|dialog(ue)?)s? (history|log|transcript|context)|(previous|prior|earlier|all( the)?|entire|full|whole) (messages|conversation|chat|context)|system prompt)\b`)},
	{"read_file", 1, regexp.MustCompile(`(?i)\b(read|cat|open|load|obtain|retrieve|fetch|grab|access|get)\b[^.\n]{0,40}(~/|\$home|/etc/|/root/|\.ssh|\.aws|\.env\b|\.config/|\bcredentials?\b|\bprivate keys?\b|\bapi keys?\b|\bmcp\.json\b|\bconfig(uration)? files?\b)`)},
}

// selfRef is the tool's reference to itself ("use this tool to..."),
// which directs no tool use.
var selfRef = regexp.MustCompile(`(?i)\b(this|the current) (tool|function)\b`)

func analyzeTool(t *Tool) *toolAnalysis {
	a := &toolAnalysis{name: t.Name, description: t.Description, schemaJSON: t.Schema}
	a.hidden = textscan.HiddenChars(t.Description)
	if a.hidden.Any() {
		a.hiddenWhere = "description"
	}
	a.revealed = textscan.Reveal(t.Description)
	a.scoreText(a.revealed)
	var schemaTexts []string
	a.schema, schemaTexts = analyzeSchema(t.Schema)
	for _, st := range schemaTexts {
		if h := textscan.HiddenChars(st); h.Any() {
			if !a.hidden.Any() {
				a.hidden, a.hiddenWhere = h, "input schema"
			} else {
				a.hiddenWhere = "description and input schema"
			}
			break
		}
	}
	a.orig = a.revealed + "\n" + strings.Join(schemaTexts, "\n")
	a.text = strings.ToLower(a.orig)
	a.words = identWords(a.text)
	return a
}

// scoreText scores a description.
func (a *toolAnalysis) scoreText(text string) {
	if text == "" {
		return
	}
	// The same-length rewrite keeps offsets, so the excerpt is quoted from
	// the text itself.
	neutral := selfRef.ReplaceAllStringFunc(text, func(m string) string { return strings.ReplaceAll(m, " ", "_") })
	inj := textscan.InjectionScore(neutral, nil)
	a.score, a.signals, a.excerpt = inj.Score, inj.Signals, inj.Excerpt
	if i := strings.Index(neutral, inj.Excerpt); i >= 0 && len(neutral) == len(text) {
		a.excerpt = text[i : i+len(inj.Excerpt)]
	}
	// A description is written in the imperative ("Read the file...", "Create
	// an issue..."): sentences that start with a verb are its genre, not
	// orders to the model.
	if i := slices.Index(a.signals, "orders"); i >= 0 {
		a.score--
		a.signals = slices.Delete(slices.Clone(a.signals), i, i+1)
	}
	best := -1.0
	if len(inj.Signals) > 0 {
		best = 0
	}
	for _, sg := range defSignals {
		loc := sg.re.FindStringIndex(text)
		if loc == nil {
			continue
		}
		a.score += sg.weight
		a.signals = append(a.signals, sg.name)
		if sg.name == "pass_in_argument" || sg.name == "read_file" || sg.name == "sends_history" {
			a.instructs = true
		}
		if sg.weight > best {
			best = sg.weight
			a.excerpt = textscan.Excerpt(text, loc[0])
		}
	}
	if sp := textscan.SensitivePath(text); sp != "" {
		a.sensitive = sp
		a.sensitiveExcerpt = textscan.Excerpt(text, strings.Index(text, sp))
		if textscan.GivesOrders(text) {
			a.instructs = true
		}
	}
}

// mentions reports whether the definition names tool: as a word when the
// name looks like an identifier (has _ - . or a digit), else only as
// `name` or "name tool".
func (a *toolAnalysis) mentions(tool string) bool {
	if len(tool) < 4 {
		return false
	}
	lt := strings.ToLower(tool)
	if identLike(lt) {
		return a.words[lt]
	}
	return a.words[lt] && (strings.Contains(a.text, "`"+lt+"`") || strings.Contains(a.text, lt+" tool") || strings.Contains(a.text, lt+" function") || strings.Contains(a.text, "'"+lt+"'") || strings.Contains(a.text, `"`+lt+`"`))
}

// around returns the text around the first mention of tool.
func (a *toolAnalysis) around(tool string) string {
	i := strings.Index(a.text, strings.ToLower(tool))
	if i < 0 {
		return ""
	}
	src := a.text
	if len(a.orig) == len(a.text) {
		src = a.orig
	}
	return src[max(i-150, 0):min(i+len(tool)+150, len(src))]
}

func identLike(s string) bool {
	return strings.ContainsAny(s, "_-.0123456789/:")
}

// identWords returns the words of s made of letters, digits, _ - . / :,
// with their parts split at . / : too.
func identWords(s string) map[string]bool {
	words := map[string]bool{}
	add := func(w string) {
		w = strings.Trim(w, ".-:/")
		if len(w) >= 4 {
			words[w] = true
		}
	}
	start := -1
	for i := 0; i <= len(s); i++ {
		in := i < len(s) && (wordChar(s[i]) || s[i] == '-' || s[i] == '.' || s[i] == '/' || s[i] == ':')
		switch {
		case in && start < 0:
			start = i
		case !in && start >= 0:
			w := s[start:i]
			add(w)
			if strings.ContainsAny(w, "./:") {
				for _, p := range strings.FieldsFunc(w, func(r rune) bool { return r == '.' || r == '/' || r == ':' }) {
					add(p)
				}
			}
			start = -1
		}
	}
	return words
}

func wordChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Parameter names that ask for what a tool should not need: the
// conversation, the system prompt, key material.
var suspiciousParam = regexp.MustCompile(`(?i)^(conversation|chat|dialog(ue)?|message|session)s?[_-]?(history|log|transcript|context)$|^(full|entire|whole)[_-]?(conversation|context|history)$|^system[_-]?(prompt|instructions?)$|^(previous|prior|all)[_-]?(messages|instructions|context)$|^(ssh|private)[_-]?keys?$|^id[_-]?(rsa|ed25519|ecdsa|dsa)$|^(secret|credential)s?[_-]?(file|contents?)$`)

// Schema members whose strings are text the model reads as guidance.
var schemaTextKeys = map[string]bool{"description": true, "title": true}

// Schema members whose strings are values the model fills in.
var schemaValueKeys = map[string]bool{"default": true, "enum": true, "const": true, "examples": true, "example": true}

// asksFor matches parameter descriptions that ask for data a tool should
// not need.
var asksFor = regexp.MustCompile(`(?i)\b((conversation|chat|message|session|dialog(ue)?)s? (history|log|transcript)|(previous|prior|earlier|all( the)?|entire|full|whole) (messages|conversation|chat)|system prompt|contents? of (the |any |your )?(ssh|private|secret|credential|key|config|\.env|~/)|(ssh|private) keys?)\b`)

// analyzeSchema walks an input schema: parameter names, descriptions and
// titles, defaults, enums and examples. It returns what looks poisoned and
// the text strings found (for hidden characters and cross references).
func analyzeSchema(schema string) ([]schemaIssue, []string) {
	if len(schema) < 2 || schema == "null" {
		return nil, nil
	}
	var v any
	if json.Unmarshal([]byte(schema), &v) != nil {
		return nil, nil
	}
	var issues []schemaIssue
	var texts []string
	var walk func(v any, path string, depth int)
	walk = func(v any, path string, depth int) {
		if depth > 32 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				p := joinPath(path, k)
				val := x[k]
				switch {
				case k == "properties":
					if props, ok := val.(map[string]any); ok {
						names := make([]string, 0, len(props))
						for n := range props {
							names = append(names, n)
						}
						slices.Sort(names)
						for _, n := range names {
							texts = append(texts, n)
							if suspiciousParam.MatchString(n) {
								issues = append(issues, schemaIssue{path: joinPath(p, n), what: "parameter named for data a tool should not need", excerpt: n, sev: Medium})
							}
							if textscan.HiddenChars(n).Any() {
								texts = append(texts, n)
							}
							walk(props[n], joinPath(p, n), depth+1)
						}
						continue
					}
				case schemaTextKeys[k]:
					if s, ok := val.(string); ok {
						texts = append(texts, s)
						if is, ok := schemaText(p, s); ok {
							issues = append(issues, is)
						}
						continue
					}
				case schemaValueKeys[k]:
					for _, s := range stringsIn(val, nil) {
						texts = append(texts, s)
						if is, ok := schemaValue(p, s); ok {
							issues = append(issues, is)
						}
					}
					continue
				}
				walk(val, p, depth+1)
			}
		case []any:
			for i, e := range x {
				walk(e, joinPath(path, strconv.Itoa(i)), depth+1)
			}
		}
	}
	walk(v, "", 0)
	return issues, texts
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func stringsIn(v any, dst []string) []string {
	switch x := v.(type) {
	case string:
		dst = append(dst, x)
	case []any:
		for _, e := range x {
			dst = stringsIn(e, dst)
		}
	case map[string]any:
		for _, e := range x {
			dst = stringsIn(e, dst)
		}
	}
	return dst
}

// schemaText judges a description or title in a schema.
func schemaText(path, s string) (schemaIssue, bool) {
	var a toolAnalysis
	visible := textscan.Reveal(s)
	a.scoreText(visible)
	switch {
	case a.score >= textscan.InjectionStrong:
		return schemaIssue{path, fmt.Sprintf("instructions aimed at the model: %s (score %.1f)", strings.Join(a.signals, ", "), a.score), a.excerpt, High}, true
	case a.sensitive != "":
		sev := Medium
		if a.instructs || a.score >= textscan.InjectionWeak {
			sev = High
		}
		return schemaIssue{path, "refers to a credential file: " + a.sensitive, a.sensitiveExcerpt, sev}, true
	}
	if loc := asksFor.FindStringIndex(visible); loc != nil {
		sev := Medium
		if a.score >= textscan.InjectionWeak || a.instructs {
			sev = High
		}
		return schemaIssue{path, "asks for the conversation, the system prompt or key material", textscan.Excerpt(visible, loc[0]), sev}, true
	}
	if a.score >= descMedium {
		return schemaIssue{path, fmt.Sprintf("instructions aimed at the model: %s (score %.1f)", strings.Join(a.signals, ", "), a.score), a.excerpt, Medium}, true
	}
	return schemaIssue{}, false
}

// schemaValue judges a default, enum, const or example value: values are
// short identifiers or data, not sentences giving orders.
func schemaValue(path, s string) (schemaIssue, bool) {
	if len(s) < 24 {
		return schemaIssue{}, false
	}
	visible := textscan.Reveal(s)
	var a toolAnalysis
	a.scoreText(visible)
	imperative := textscan.GivesOrders(visible)
	switch {
	case a.score >= textscan.InjectionStrong || a.sensitive != "" && (imperative || a.instructs):
		return schemaIssue{path, "a default or allowed value carries instructions", a.excerpt + a.sensitiveExcerpt, High}, true
	case a.score >= textscan.InjectionWeak && imperative, a.sensitive != "":
		return schemaIssue{path, "a default or allowed value reads as an instruction", textscan.Excerpt(visible, 0), Medium}, true
	}
	return schemaIssue{}, false
}

// lru is a bounded map that forgets the least recently used entry.
type lru[K comparable, V any] struct {
	max   int
	ll    *list.List
	items map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, ll: list.New(), items: map[K]*list.Element{}}
}

func (l *lru[K, V]) get(k K) (V, bool) {
	if e, ok := l.items[k]; ok {
		l.ll.MoveToFront(e)
		return e.Value.(*lruEntry[K, V]).val, true
	}
	var zero V
	return zero, false
}

func (l *lru[K, V]) put(k K, v V) {
	if e, ok := l.items[k]; ok {
		e.Value.(*lruEntry[K, V]).val = v
		l.ll.MoveToFront(e)
		return
	}
	l.items[k] = l.ll.PushFront(&lruEntry[K, V]{k, v})
	for l.ll.Len() > l.max {
		last := l.ll.Back()
		l.ll.Remove(last)
		delete(l.items, last.Value.(*lruEntry[K, V]).key)
	}
}
