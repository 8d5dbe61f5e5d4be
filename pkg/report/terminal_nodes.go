package report

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// nodes writes the spawned nodes, the nodes that exited with the tail of
// their logs, and the log lines that matched logs.fail_on: what the runner
// saw of the cluster's processes, before the scenarios.
func (p *printer) nodes(r *Report) {
	c := r.Cluster
	if len(c.Nodes) == 0 && len(c.NodeFailures) == 0 && len(c.LogFindings) == 0 && c.Resources == nil {
		return
	}
	p.blank()
	p.line(p.st.faint.Render(strings.Repeat("─", lineWidth)))
	p.line("▶ " + p.st.heading.Render("Nodes"))
	if c.WorkDir != "" {
		state := "(kept)"
		if c.WorkDirRemoved {
			state = "(removed after the pass)"
		}
		// A path is never wrapped: it is for copying.
		l := "  " + p.st.label.Render("work dir") + "  " + c.WorkDir
		if ansi.StringWidth(l)+1+len(state) <= lineWidth {
			p.line(l, " ", state)
		} else {
			p.line(l)
			p.line(strings.Repeat(" ", 12), state)
		}
	}
	p.nodeTable(c)
	p.resources(c) // terminal_resources.go
	for _, f := range c.NodeFailures {
		p.wrapped("  ", p.st.fail.Render("✗ "), f.Error, p.st.bad)
		if len(f.LogTail) > 0 {
			p.line("    ", p.st.faint.Render(fmt.Sprintf("last %s of its log:", countOf(len(f.LogTail), "line"))))
			for _, l := range f.LogTail {
				for _, part := range wrap(clip(l, 4*lineWidth), lineWidth-6) {
					p.line("    ", p.st.faint.Render("│ "), part)
				}
			}
		}
	}
	p.logFindings(c)
}

// nodeTable writes one row per node: id, pid, ports, log file and how it ended.
func (p *printer) nodeTable(c Cluster) {
	if len(c.Nodes) == 0 {
		return
	}
	nodes := slices.Clone(c.Nodes)
	slices.SortFunc(nodes, func(a, b Node) int { return a.ID - b.ID })
	type row struct{ id, pid, ports, log string }
	rows := make([]row, len(nodes))
	iw, pw, portw := len("node"), len("pid"), len("ports")
	for i, n := range nodes {
		names := make([]string, 0, len(n.Ports))
		for name := range n.Ports {
			names = append(names, name)
		}
		slices.Sort(names)
		ports := make([]string, len(names))
		for j, name := range names {
			ports[j] = name + " " + strconv.Itoa(n.Ports[name])
		}
		log := n.LogFile
		if c.WorkDir != "" {
			if rel, err := filepath.Rel(c.WorkDir, log); err == nil && !strings.HasPrefix(rel, "..") {
				log = rel
			}
		}
		rows[i] = row{strconv.Itoa(n.ID), strconv.Itoa(n.PID), strings.Join(ports, " · "), log}
		iw, pw, portw = max(iw, len(rows[i].id)), max(pw, len(rows[i].pid)), max(portw, ansi.StringWidth(rows[i].ports))
	}
	p.line(p.st.faint.Render(fmt.Sprintf("  %*s  %*s  %s  %s", iw, "node", pw, "pid", pad("ports", portw), "log")))
	for i, n := range nodes {
		x := rows[i]
		l := fmt.Sprintf("  %*s  %*s  %s  %s", iw, x.id, pw, x.pid, pad(x.ports, portw), x.log)
		if n.Exit != "" {
			l += "  " + p.st.bad.Render("exited: "+n.Exit)
		}
		p.line(l)
	}
	counts := map[string][]string{}
	var names []string
	for _, n := range nodes {
		for name, v := range n.LogCounts {
			if _, ok := counts[name]; !ok {
				names = append(names, name)
			}
			counts[name] = append(counts[name], fmt.Sprintf("node %d %s", n.ID, commas(v)))
		}
	}
	slices.Sort(names)
	for _, name := range names {
		p.wrapped("  ", "", fmt.Sprintf("log lines counted as %s: %s", name, strings.Join(counts[name], " · ")), lipgloss.Style{})
	}
}

// logFindings writes every log line that matched logs.fail_on.
func (p *printer) logFindings(c Cluster) {
	for _, f := range c.LogFindings {
		at := ""
		if !f.Time.IsZero() {
			at = f.Time.Format("15:04:05.000") + " "
		}
		text := fmt.Sprintf("node %d %s%s", f.Node, at, f.Line)
		why := fmt.Sprintf("matches logs.fail_on %q", f.Pattern)
		if f.InGrace {
			p.wrapped("  ", "• ", clip(text, 3*lineWidth), lipgloss.Style{})
			p.line("    ", p.st.faint.Render(why+", within the start-up grace: noted, not failed"))
			continue
		}
		p.wrapped("  ", p.st.fail.Render("✗ "), clip(text, 3*lineWidth), p.st.bad)
		p.line("    ", p.st.faint.Render(why))
	}
	if c.LogFindingsDropped > 0 {
		p.wrapped("  ", p.st.fail.Render("✗ "), fmt.Sprintf("… and %s more matching log lines (see the node logs)", commas(int64(c.LogFindingsDropped))), p.st.bad)
	}
}

// clusterSuffix names, for the verdict banner, what of the cluster failed the run.
func clusterSuffix(c Cluster) string {
	var parts []string
	if n := len(c.NodeFailures); n > 0 {
		parts = append(parts, countOf(n, "node")+" exited")
	}
	failing := c.LogFindingsDropped
	for _, f := range c.LogFindings {
		if !f.InGrace {
			failing++
		}
	}
	if failing > 0 {
		parts = append(parts, countOf(failing, "log finding"))
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}

// clip shortens s to width columns, marking the cut with "…".
func clip(s string, width int) string {
	if ansi.StringWidth(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}
