package profile

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// spawnWith is a spawn profile of nodes nodes whose command's second
// argument is arg.
func spawnWith(nodes, arg string) string {
	return "name: s\ncluster:\n  mode: spawn\n  nodes: " + nodes + "\n  spawn:\n    command: [broker, '" + arg + "']\n    ports: [kafka]\n"
}

// Validation renders the spawn templates within bounds: output larger than
// MaxRenderedBytes is a problem, not gigabytes of memory; a cancelled
// context stops the rendering; a cluster with more than MaxSpawnNodes
// nodes is refused before any rendering; every node as a peer of the
// sampled nodes is rendered, so a {{range .Peers}} over 256 nodes works.
func TestSpawnValidateBounds(t *testing.T) {
	known := []string{"topic-create", "produce", "consume", "metadata"}
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupted by SIGTERM"))
	for _, tt := range []struct {
		name string
		yaml string
		ctx  context.Context
		want string // "" for valid
	}{
		{"peers of 256 nodes", spawnWith("256", `{{range .Peers}}{{.ID}}@{{.Addr "kafka"}},{{end}}`), context.Background(), ""},
		{"too large", spawnWith("3", "{{range 2000000}}xxxxxxxxxx{{end}}"), context.Background(),
			"s.yaml:6: cluster.spawn.command[1]: renders to more than 1048576 bytes: a loop too large?"},
		{"interrupted", spawnWith("3", "{{.ID}}"), cancelled,
			"s.yaml:6: cluster.spawn.command[0]: rendering stopped: interrupted by SIGTERM"},
		{"too many nodes", spawnWith("10000", "{{range .Peers}}{{range $.Peers}}x{{end}}{{end}}"), context.Background(),
			"s.yaml:4: cluster.nodes: must be at most 256 in spawn mode, not 10000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, "s.yaml", tt.yaml)
			err := p.ValidateContext(tt.ctx, known)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("ValidateContext: %v", err)
			case tt.want != "" && (err == nil || strings.Split(err.Error(), "\n")[0] != tt.want):
				t.Errorf("ValidateContext: %v\nwant first problem %q", err, tt.want)
			}
		})
	}
}
