//go:build unix

package runner_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// TestTopicStormSpawned: the storm against three spawned node processes
// stops every process and starts a new one for each, and every node lists
// every topic again.
func TestTopicStormSpawned(t *testing.T) {
	b := startBackend(t)
	p := spawnProfile(t, b, func(p *profile.Profile) {
		p.Storm = profile.Storm{Topics: 20, Parallelism: 4, MessagesPerTopic: 2, Restart: true, ConvergeTimeout: profile.Duration{Duration: 30 * time.Second}}
		p.Timeouts.Scenario.Duration = 90 * time.Second
	}, "topic-storm")
	rep := run(t, p, nil)
	verdicts(t, rep, map[string]bool{"topic-storm": true})
	s := section(t, rep, "topic-storm")
	if len(notesWith(s, "after the restart every broker listed the 20 topic(s) again")) == 0 {
		t.Errorf("no note of the catalog after the restart; notes %q", s.Notes)
	}
	var stops, starts int
	for _, e := range rep.Faults.Timeline {
		switch {
		case e.Kind != report.EventFault:
		case strings.HasPrefix(e.Detail, "stop node "):
			stops++
		case strings.HasPrefix(e.Detail, "start node ") && strings.Contains(e.Detail, "again (pid "):
			starts++
		}
	}
	if stops != 3 || starts != 3 {
		t.Errorf("%d stops and %d starts of node processes on the timeline, want 3 of each; timeline %+v", stops, starts, rep.Faults.Timeline)
	}
}
