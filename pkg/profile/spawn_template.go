package profile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// TemplateNode is what the spawn templates see for one node, e.g.
// {{.ID}}, {{.DataDir}}, {{.Port "kafka"}}, {{.File "node.toml"}},
// {{range .Peers}}...{{end}}, {{.Env.CHRONIK_BIN}}.
type TemplateNode struct {
	ID      int    // the node's id: 1 for the first node
	Index   int    // the node's position: 0 for the first node
	Nodes   int    // how many nodes the cluster has
	Host    string // the host every port is on: 127.0.0.1
	WorkDir string // the node's own directory; its files are written there and it runs there
	DataDir string // WorkDir/data, empty at the first start
	// Env is the runner's environment. {{.Env.NAME}} fails when NAME is
	// unset; {{index .Env "NAME"}} gives "" instead.
	Env map[string]string
	// Peers are every node of the cluster, this one included, by ID.
	Peers []*TemplateNode
	// Ports maps each port name to the node's port.
	Ports map[string]int
	// Files maps each spawn.files name to its path in WorkDir.
	Files map[string]string
	// Links maps a peer's port to the address at which this node reaches
	// it: a link proxy of the runner's (faults.network). A port not in it
	// is reached at the peer's own address.
	Links map[PeerPort]string
	// Clients maps a port to the address clients are told for it: a proxy
	// of the runner's (faults.network). A port not in it is told as is.
	Clients map[string]string
}

// PeerPort names one port of one node: node ID's port Port.
type PeerPort struct {
	ID   int
	Port string
}

// LinkAddr returns the address at which this node reaches node id's port
// called name: {{range .Peers}}{{$.LinkAddr .ID "raft"}}{{end}}. With
// faults.network on it is the runner's proxy for that one directed link;
// off, and for the node itself, it is the port's own address.
func (n *TemplateNode) LinkAddr(id int, name string) (string, error) {
	var peer *TemplateNode
	for _, p := range n.Peers {
		if p.ID == id {
			peer = p
		}
	}
	if peer == nil {
		return "", fmt.Errorf("no node %d: the cluster's nodes are 1..%d", id, n.Nodes)
	}
	if id == n.ID {
		return n.Addr(name)
	}
	if addr, ok := n.Links[PeerPort{id, name}]; ok {
		return addr, nil
	}
	return peer.Addr(name)
}

// ClientAddr returns the address clients are told for the node's port
// called name, e.g. Kafka's advertised listener: {{.ClientAddr "kafka"}}.
// With faults.network on, it is the runner's proxy in front of the Kafka
// port, so that the runner can cut itself off from the node; off, and for
// any other port, it is the port's own address.
func (n *TemplateNode) ClientAddr(name string) (string, error) {
	if addr, ok := n.Clients[name]; ok {
		return addr, nil
	}
	return n.Addr(name)
}

// Port returns the node's port called name.
func (n *TemplateNode) Port(name string) (int, error) {
	p, ok := n.Ports[name]
	if !ok {
		return 0, fmt.Errorf("no port %q: cluster.spawn.ports has %s", name, strings.Join(sortedKeys(n.Ports), ", "))
	}
	return p, nil
}

// Addr returns host:port of the node's port called name.
func (n *TemplateNode) Addr(name string) (string, error) {
	p, err := n.Port(name)
	if err != nil {
		return "", err
	}
	return n.Host + ":" + strconv.Itoa(p), nil
}

// File returns the path of the node's rendered file called name.
func (n *TemplateNode) File(name string) (string, error) {
	p, ok := n.Files[name]
	if !ok {
		names := strings.Join(sortedKeys(n.Files), ", ")
		if names == "" {
			names = "no files"
		}
		return "", fmt.Errorf("no file %q: cluster.spawn.files has %s", name, names)
	}
	return p, nil
}

// Rendered is one node's spawn templates, rendered.
type Rendered struct {
	Command  []string
	Env      []string          // NAME=value, sorted by name
	Files    map[string]string // file name -> content
	ReadyURL string            // "" when there is no HTTP probe
}

// TemplateError is a spawn template that does not parse or render.
type TemplateError struct {
	Key string // the template's profile key, e.g. "cluster.spawn.files.node.toml"
	Msg string
	// stopped is set when rendering was abandoned (too long, too large,
	// interrupted): rendering the next node would only do so again.
	stopped bool
}

// Error returns "KEY: MESSAGE".
func (e *TemplateError) Error() string { return e.Key + ": " + e.Msg }

// templateFuncs are the functions spawn templates may call besides text/template's own.
var templateFuncs = template.FuncMap{
	"add": func(a, b int) int { return a + b },
	"sub": func(a, b int) int { return a - b },
	// quote writes s as a double-quoted string that TOML, JSON and YAML all read back as s.
	"quote": func(s string) (string, error) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			return "", err
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	},
}

type keyedTemplate struct {
	key string
	t   *template.Template
}

type spawnTemplates struct {
	command   []keyedTemplate
	env       []keyedTemplate // key suffix after "env." is the variable name
	files     []keyedTemplate
	ready     *keyedTemplate
	placement *keyedTemplate
}

type templateProblem struct{ key, msg string }

// compile parses every template of s and returns every one that does not parse.
func (s *Spawn) compile() (*spawnTemplates, []templateProblem) {
	var problems []templateProblem
	parseOne := func(key, name, text string) keyedTemplate {
		t, err := template.New(name).Funcs(templateFuncs).Option("missingkey=error").Parse(text)
		if err != nil {
			problems = append(problems, templateProblem{key, templateMsg(err)})
		}
		return keyedTemplate{key, t}
	}
	const k = "cluster.spawn"
	st := &spawnTemplates{}
	for i, arg := range s.Command {
		key := fmt.Sprintf("%s.command[%d]", k, i)
		st.command = append(st.command, parseOne(key, key, arg))
	}
	for _, name := range sortedKeys(s.Env) {
		st.env = append(st.env, parseOne(k+".env."+name, name, s.Env[name]))
	}
	for _, name := range sortedKeys(s.Files) {
		st.files = append(st.files, parseOne(k+".files."+name, name, s.Files[name]))
	}
	if s.Ready.HTTP != "" {
		r := parseOne(k+".ready.http", "ready.http", s.Ready.HTTP)
		st.ready = &r
	}
	if s.Placement != "" {
		pl := parseOne(k+".placement", "placement", s.Placement)
		st.placement = &pl
	}
	return st, problems
}

// PlacementNode is what spawn.placement sees: the node's fields and the topic.
type PlacementNode struct {
	*TemplateNode
	Topic string
}

// RenderPlacement renders spawn.placement for node n and topic; "" when
// the profile has none. The error is a *TemplateError.
func (s *Spawn) RenderPlacement(n *TemplateNode, topic string) (string, error) {
	st, problems := s.compile()
	for _, p := range problems {
		if p.key == "cluster.spawn.placement" {
			return "", &TemplateError{Key: p.key, Msg: p.msg}
		}
	}
	if st.placement == nil || st.placement.t == nil {
		return "", nil
	}
	var b strings.Builder
	if err := st.placement.t.Execute(&b, PlacementNode{TemplateNode: n, Topic: topic}); err != nil {
		return "", &TemplateError{Key: st.placement.key, Msg: templateMsg(err)}
	}
	return b.String(), nil
}

// Render renders every template of s for node n. The error is a
// *TemplateError naming the template's key. To render for many nodes,
// Compile once and call the Templates' Render.
func (s *Spawn) Render(n *TemplateNode) (*Rendered, error) {
	t, err := s.Compile()
	if err != nil {
		return nil, err
	}
	return t.Render(n)
}

// Templates are the spawn templates of a profile, parsed once, to render for
// every node.
type Templates struct {
	st    *spawnTemplates
	first string // spawn.command[0] as written, for messages
}

// Compile parses every template of s; the error is a *TemplateError naming
// the first that does not parse.
func (s *Spawn) Compile() (*Templates, error) {
	st, problems := s.compile()
	if len(problems) > 0 {
		return nil, &TemplateError{Key: problems[0].key, Msg: problems[0].msg}
	}
	t := &Templates{st: st}
	if len(s.Command) > 0 {
		t.first = s.Command[0]
	}
	return t, nil
}

// Render renders every template for node n. The error is a *TemplateError
// naming the template's key.
func (t *Templates) Render(n *TemplateNode) (*Rendered, error) {
	return t.RenderContext(context.Background(), n)
}

// Bounds of one template's rendering: a template is a few lines of a
// command or a config file, so one that writes more, or runs longer, loops
// where it should not ({{range 2000000000}}).
const (
	MaxRenderedBytes = 1 << 20
	maxRenderTime    = 10 * time.Second
)

var errTooLarge = fmt.Errorf("renders to more than %d bytes: a loop too large?", MaxRenderedBytes)

// boundedBuilder is a strings.Builder that fails a write past MaxRenderedBytes.
type boundedBuilder struct{ strings.Builder }

func (b *boundedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxRenderedBytes {
		return 0, errTooLarge
	}
	return b.Builder.Write(p)
}

// execute renders kt for n within the bounds, or until ctx ends. A
// rendering abandoned at its deadline or at ctx's end runs on in its
// goroutine until it ends by itself: text/template cannot be stopped.
func execute(ctx context.Context, kt keyedTemplate, n *TemplateNode) (string, error) {
	if ctx.Err() != nil {
		return "", &TemplateError{Key: kt.key, Msg: fmt.Sprintf("rendering stopped: %v", context.Cause(ctx)), stopped: true}
	}
	type result struct {
		s   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		var b boundedBuilder
		err := kt.t.Execute(&b, n)
		done <- result{b.String(), err}
	}()
	timer := time.NewTimer(maxRenderTime)
	defer timer.Stop()
	select {
	case r := <-done:
		switch {
		case errors.Is(r.err, errTooLarge):
			return "", &TemplateError{Key: kt.key, Msg: errTooLarge.Error(), stopped: true}
		case r.err != nil:
			return "", &TemplateError{Key: kt.key, Msg: templateMsg(r.err)}
		}
		return r.s, nil
	case <-timer.C:
		return "", &TemplateError{Key: kt.key, Msg: fmt.Sprintf("still rendering for node %d after %s: a loop too large?", n.ID, maxRenderTime), stopped: true}
	case <-ctx.Done():
		return "", &TemplateError{Key: kt.key, Msg: fmt.Sprintf("rendering stopped: %v", context.Cause(ctx)), stopped: true}
	}
}

// RenderContext is Render, stopped when ctx ends.
func (t *Templates) RenderContext(ctx context.Context, n *TemplateNode) (*Rendered, error) {
	st := t.st
	exec := func(kt keyedTemplate) (string, error) { return execute(ctx, kt, n) }
	r := &Rendered{Files: map[string]string{}}
	for _, kt := range st.command {
		arg, err := exec(kt)
		if err != nil {
			return nil, err
		}
		r.Command = append(r.Command, arg)
	}
	for _, kt := range st.env {
		val, err := exec(kt)
		if err != nil {
			return nil, err
		}
		r.Env = append(r.Env, kt.t.Name()+"="+val)
	}
	for _, kt := range st.files {
		content, err := exec(kt)
		if err != nil {
			return nil, err
		}
		r.Files[kt.t.Name()] = content
	}
	if st.ready != nil {
		u, err := exec(*st.ready)
		if err != nil {
			return nil, err
		}
		r.ReadyURL = strings.TrimSpace(u)
	}
	if len(r.Command) > 0 && strings.TrimSpace(r.Command[0]) == "" {
		return nil, &TemplateError{Key: "cluster.spawn.command[0]", Msg: fmt.Sprintf("%q renders to an empty program name", t.first)}
	}
	return r, nil
}

// RequiredEnv returns the environment variables the templates of s read
// as {{.Env.NAME}}, which must be set when the nodes are started.
func (s *Spawn) RequiredEnv() []string {
	st, _ := s.compile()
	seen := map[string]bool{}
	all := append(append(append([]keyedTemplate{}, st.command...), st.env...), st.files...)
	if st.ready != nil {
		all = append(all, *st.ready)
	}
	if st.placement != nil {
		all = append(all, *st.placement)
	}
	for _, kt := range all {
		if kt.t != nil && kt.t.Tree != nil {
			walkEnv(kt.t.Tree.Root, seen)
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LinkPorts returns the port names the templates of s reach peers at
// through {{$.LinkAddr ID "NAME"}}; all is set when one of them names its
// port other than by a quoted string, so that every port must be fronted.
func (s *Spawn) LinkPorts() (names []string, all bool) {
	seen := map[string]bool{}
	s.walkCalls("LinkAddr", func(args []parse.Node) {
		if len(args) == 2 {
			if str, ok := args[1].(*parse.StringNode); ok {
				seen[str.Text] = true
				return
			}
		}
		all = true
	})
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, all
}

// CallsClientAddr reports whether a template of s calls ClientAddr.
func (s *Spawn) CallsClientAddr() bool {
	found := false
	s.walkCalls("ClientAddr", func([]parse.Node) { found = true })
	return found
}

// walkCalls calls fn with the arguments of every call of the method
// called name in the command, env and file templates of s.
func (s *Spawn) walkCalls(name string, fn func(args []parse.Node)) {
	st, _ := s.compile()
	all := append(append(append([]keyedTemplate{}, st.command...), st.env...), st.files...)
	for _, kt := range all {
		if kt.t != nil && kt.t.Tree != nil {
			walkCommands(kt.t.Tree.Root, func(c *parse.CommandNode) {
				if len(c.Args) > 0 && calls(c.Args[0], name) {
					fn(c.Args[1:])
				}
			})
		}
	}
}

// calls reports whether n is a method value called name: .name, $.name, $x.name.
func calls(n parse.Node, name string) bool {
	switch f := n.(type) {
	case *parse.FieldNode:
		return f.Ident[len(f.Ident)-1] == name
	case *parse.VariableNode:
		return len(f.Ident) > 1 && f.Ident[len(f.Ident)-1] == name
	case *parse.ChainNode:
		return len(f.Field) > 0 && f.Field[len(f.Field)-1] == name
	}
	return false
}

// walkCommands calls fn with every command under node.
func walkCommands(node parse.Node, fn func(*parse.CommandNode)) {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkCommands(c, fn)
		}
	case *parse.ActionNode:
		walkCommands(n.Pipe, fn)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkCommands(c, fn)
		}
	case *parse.CommandNode:
		fn(n)
		for _, a := range n.Args {
			walkCommands(a, fn)
		}
	case *parse.ChainNode:
		walkCommands(n.Node, fn)
	case *parse.IfNode:
		walkCommandBranch(&n.BranchNode, fn)
	case *parse.RangeNode:
		walkCommandBranch(&n.BranchNode, fn)
	case *parse.WithNode:
		walkCommandBranch(&n.BranchNode, fn)
	case *parse.TemplateNode:
		walkCommands(n.Pipe, fn)
	}
}

func walkCommandBranch(b *parse.BranchNode, fn func(*parse.CommandNode)) {
	walkCommands(b.Pipe, fn)
	walkCommands(b.List, fn)
	if b.ElseList != nil {
		walkCommands(b.ElseList, fn)
	}
}

// walkEnv records the NAME of every .Env.NAME and $.Env.NAME under node.
func walkEnv(node parse.Node, seen map[string]bool) {
	walkCommands(node, func(c *parse.CommandNode) {
		for _, a := range c.Args {
			switch n := a.(type) {
			case *parse.FieldNode:
				if len(n.Ident) >= 2 && n.Ident[0] == "Env" {
					seen[n.Ident[1]] = true
				}
			case *parse.VariableNode:
				if len(n.Ident) >= 3 && n.Ident[1] == "Env" {
					seen[n.Ident[2]] = true
				}
			}
		}
	})
}

// placeholderNodes returns stand-in nodes for rendering the templates at
// validation: fixed ports as the profile gives them, made-up free ports,
// paths and, for every {{.Env.NAME}} that is unset, a placeholder value.
func (s *Spawn) placeholderNodes(count int) []*TemplateNode {
	env := environ()
	for _, name := range s.RequiredEnv() {
		if env[name] == "" {
			env[name] = "/ENV/" + name
		}
	}
	nodes := make([]*TemplateNode, count)
	for i := range nodes {
		n := &TemplateNode{
			ID: i + 1, Index: i, Nodes: count, Host: "127.0.0.1",
			WorkDir: fmt.Sprintf("/work/node-%d", i+1), Env: env,
			Ports: map[string]int{}, Files: map[string]string{},
		}
		n.DataDir = n.WorkDir + "/data"
		for j, name := range s.Ports {
			if base, ok := s.PortBases[name]; ok {
				n.Ports[name] = base + i
			} else {
				n.Ports[name] = 40000 + i*len(s.Ports) + j
			}
		}
		for name := range s.Files {
			n.Files[name] = n.WorkDir + "/" + name
		}
		nodes[i] = n
	}
	for _, n := range nodes {
		n.Peers = nodes
	}
	return nodes
}

var (
	// template: NAME:LINE: MSG
	parseErrRE = regexp.MustCompile(`^template: [^:]*:(\d+): (.*)$`)
	// template: NAME:LINE:COL: executing "NAME" at <ACTION>: [error calling F: ]MSG
	execErrRE = regexp.MustCompile(`^template: [^:]*:(\d+):\d+: executing "[^"]*" at <(.*?)>: (?:error calling \w+: )?(.*)$`)
)

// templateMsg rewrites a text/template error as "template line N: ...".
func templateMsg(err error) string {
	msg := err.Error()
	if m := execErrRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("template line %s: {{%s}}: %s", m[1], m[2], m[3])
	}
	if m := parseErrRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("template line %s: %s", m[1], m[2])
	}
	return strings.TrimPrefix(msg, "template: ")
}

// environ returns the runner's environment as a map.
func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}
