package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// JUnit XML as Jenkins, GitLab and GitHub test reporters read it: one
// testsuite per run, one testcase per scenario, per threshold and per
// compared metric. A scenario's findings are its <failure>; a scenario that
// could not finish is an <error>; a skipped one is <skipped>.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties *junitProps     `xml:"properties,omitempty"`
	Cases      []junitTestcase `xml:"testcase"`
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestcase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes r as JUnit XML to w.
func WriteJUnit(w io.Writer, r *Report) error {
	s := junitRun(r, "chronik-e2e "+r.Profile)
	return writeJUnit(w, junitSuites{Name: "chronik-e2e", Time: junitTime(r.DurationS), Suites: []junitSuite{s}})
}

// WriteJUnitRepeat writes a repeat as JUnit XML to w: one testsuite per run,
// and one for the repeat, whose testcases fail for a flaky scenario or for
// medians that regressed from the baseline.
func WriteJUnitRepeat(w io.Writer, rep *Repeat) error {
	all := junitSuites{Name: "chronik-e2e", Time: junitTime(rep.DurationS)}
	for i, r := range rep.Runs {
		all.Suites = append(all.Suites, junitRun(r, fmt.Sprintf("chronik-e2e %s run %d of %d", rep.Profile, i+1, rep.Requested)))
	}
	s := junitSuite{Name: fmt.Sprintf("chronik-e2e %s repeat", rep.Profile), Time: junitTime(rep.DurationS),
		Timestamp: junitTimestamp(rep)}
	class := junitClass(rep.Profile, "repeat")
	for _, sc := range rep.Scenarios {
		tc := junitTestcase{Name: sc.Name, Classname: class, Time: "0"}
		switch {
		case sc.Flaky:
			tc.Failure = &junitMessage{Type: "flaky", Message: fmt.Sprintf("flaky: passed %d of %d runs", sc.Passed, sc.Runs)}
		case sc.Passed < sc.Runs:
			tc.Failure = &junitMessage{Type: "failed", Message: fmt.Sprintf("failed every one of %d runs", sc.Runs)}
		}
		s.Cases = append(s.Cases, tc)
	}
	if rep.Interrupted || len(rep.Runs) < rep.Requested {
		s.Cases = append(s.Cases, junitTestcase{Name: "runs", Classname: class, Time: "0",
			Error: &junitMessage{Type: "interrupted", Message: fmt.Sprintf("%d of %d runs done: the repeat was interrupted", len(rep.Runs), rep.Requested)}})
	}
	if rep.Baseline != nil {
		s.Cases = append(s.Cases, junitBaseline(rep.Baseline, junitClass(rep.Profile, "baseline"))...)
	}
	all.Suites = append(all.Suites, s.count())
	return writeJUnit(w, all)
}

// WriteJUnitFile writes the JUnit XML of r, or of rep when it is not nil, to path.
func WriteJUnitFile(path string, r *Report, rep *Repeat) error {
	s, err := renderEither(r, rep, WriteJUnit, WriteJUnitRepeat)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	return nil
}

func writeJUnit(w io.Writer, all junitSuites) error {
	for _, s := range all.Suites {
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return fmt.Errorf("encode JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitRun is the testsuite of one run.
func junitRun(r *Report, name string) junitSuite {
	s := junitSuite{Name: name, Time: junitTime(r.DurationS)}
	if !r.StartedAt.IsZero() {
		s.Timestamp = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	c := r.Config
	props := []junitProp{
		{"profile", r.Profile}, {"run_id", r.RunID}, {"cluster", r.Cluster.Mode},
		{"bootstrap", strings.Join(r.Cluster.Bootstrap, ",")}, {"topic", c.Topic},
		{"partitions", strconv.Itoa(c.Partitions)}, {"replication_factor", strconv.Itoa(c.ReplicationFactor)},
		{"messages", strconv.Itoa(c.Messages)}, {"acks", c.Acks},
	}
	for _, kv := range [][2]string{{"profile_source", r.ProfileSource}, {"profile_digest", r.ProfileDigest}, {"tool_version", r.ToolVersion}} {
		if kv[1] != "" {
			props = append(props, junitProp{kv[0], kv[1]})
		}
	}
	for _, t := range r.TagList() {
		k, v, _ := strings.Cut(t, "=")
		props = append(props, junitProp{"tag." + k, v})
	}
	s.Properties = &junitProps{Props: props}

	class := junitClass(r.Profile, "scenario")
	for _, sc := range r.Scenarios {
		tc := junitTestcase{Name: sc.Name, Classname: class, Time: junitTime(sc.DurationS)}
		switch {
		case sc.InternalError:
			tc.Error = &junitMessage{Type: "internal-error", Message: sc.Error, Text: junitStacks(r.InternalErrors, sc.Name)}
		case sc.NotApplicable && r.AllowNotApplicable:
			tc.Skipped = &junitMessage{Type: "not-applicable", Message: sc.Error}
		case sc.NotApplicable: // fails the run: the guarantee went untested
			tc.Failure = &junitMessage{Type: "not-applicable", Message: sc.Error}
		case sc.Skipped:
			tc.Skipped = &junitMessage{Type: "skipped", Message: sc.Error}
		case len(sc.Findings) > 0:
			text := strings.Join(sc.Findings, "\n")
			if sc.Error != "" {
				text += "\nerror: " + sc.Error
			}
			tc.Failure = &junitMessage{Type: "finding", Message: sc.Findings[0], Text: text}
		case sc.Error != "":
			tc.Error = &junitMessage{Type: "error", Message: sc.Error, Text: sc.Error}
		case !sc.Passed:
			tc.Failure = &junitMessage{Type: "failed", Message: "failed"}
		}
		tc.SystemOut = strings.Join(sc.Notes, "\n")
		if tl := r.Faults.TimelineText(sc.Name); len(tl) > 0 {
			tc.SystemOut = strings.TrimPrefix(tc.SystemOut+"\ntimeline (seconds since the run started):\n"+strings.Join(tl, "\n"), "\n")
		}
		s.Cases = append(s.Cases, tc)
	}
	if text := junitStacks(r.InternalErrors, ""); text != "" { // outside any scenario
		s.Cases = append(s.Cases, junitTestcase{Name: "run", Classname: class, Time: "0",
			Error: &junitMessage{Type: "internal-error", Message: InternalErrorText, Text: text}})
	}
	if r.Interrupted {
		s.Cases = append(s.Cases, junitTestcase{Name: "run", Classname: class, Time: "0",
			Error: &junitMessage{Type: "interrupted", Message: "the run was interrupted before it finished"}})
	}
	if g := r.Gate; g != nil {
		tclass := junitClass(r.Profile, "threshold")
		for _, t := range g.Thresholds {
			tc := junitTestcase{Name: t.Expr, Classname: tclass, Time: "0"}
			switch {
			case t.Value == nil:
				tc.Failure = &junitMessage{Type: "threshold", Message: fmt.Sprintf("%s: %s", t.Expr, t.Reason)}
			case !t.Passed:
				tc.Failure = &junitMessage{Type: "threshold", Message: fmt.Sprintf("%s is %s: %s does not hold", t.Metric, FormatValue(*t.Value, t.Unit), t.Expr)}
			default:
				tc.SystemOut = fmt.Sprintf("%s is %s", t.Metric, FormatValue(*t.Value, t.Unit))
			}
			s.Cases = append(s.Cases, tc)
		}
		if g.Baseline != nil {
			s.Cases = append(s.Cases, junitBaseline(g.Baseline, junitClass(r.Profile, "baseline"))...)
		}
	}
	return s.count()
}

// junitBaseline is one testcase per compared metric.
func junitBaseline(c *Comparison, class string) []junitTestcase {
	var out []junitTestcase
	for _, d := range c.Metrics {
		msg := fmt.Sprintf("%s: %s, baseline %s (%s)", d.Metric, FormatValue(d.Value, d.Unit), FormatValue(d.Baseline, d.Unit), deltaPct(d.DeltaPct))
		tc := junitTestcase{Name: d.Metric, Classname: class, Time: "0"}
		if d.Regressed {
			tc.Failure = &junitMessage{Type: "regression", Message: fmt.Sprintf("%s: worse than the baseline by more than %s%%", msg, number(c.TolerancePct))}
		} else {
			tc.SystemOut = msg
		}
		out = append(out, tc)
	}
	return out
}

// count fills the suite's counters from its testcases.
func (s junitSuite) count() junitSuite {
	s.Tests = len(s.Cases)
	s.Failures, s.Errors, s.Skipped = 0, 0, 0
	for _, tc := range s.Cases {
		switch {
		case tc.Failure != nil:
			s.Failures++
		case tc.Error != nil:
			s.Errors++
		case tc.Skipped != nil:
			s.Skipped++
		}
	}
	return s
}

// junitClass is a testcase classname: "chronik-e2e.3x3.scenario".
func junitClass(profile, kind string) string {
	return "chronik-e2e." + strings.ReplaceAll(profile, " ", "_") + "." + kind
}

// junitTime formats seconds as JUnit wants them: a plain decimal.
func junitTime(s float64) string {
	if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		s = 0
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}

func junitTimestamp(rep *Repeat) string {
	if rep.StartedAt.IsZero() {
		return ""
	}
	return rep.StartedAt.UTC().Format("2006-01-02T15:04:05")
}

// junitStacks is the title and stack of each internal error of scenario
// (of none: "").
func junitStacks(es []InternalError, scenario string) string {
	var parts []string
	for _, e := range es {
		if e.Scenario == scenario {
			parts = append(parts, e.Title()+"\n"+e.Stack)
		}
	}
	return strings.Join(parts, "\n")
}
