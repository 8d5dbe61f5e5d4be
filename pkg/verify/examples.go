package verify

import "fmt"

// MaxExamples bounds how many individual records a finding lists.
const MaxExamples = 10

// Examples counts the findings of one kind and keeps the first MaxExamples
// descriptions.
type Examples struct {
	Kind  string
	Count int64
	List  []string
}

// Add counts one finding and keeps its description while there is room.
func (e *Examples) Add(format string, args ...any) {
	e.Count++
	if len(e.List) < MaxExamples {
		e.List = append(e.List, fmt.Sprintf(format, args...))
	}
}

// Full reports whether e holds as many descriptions as it keeps.
func (e *Examples) Full() bool { return len(e.List) >= MaxExamples }

// Merge adds o's count and descriptions to e.
func (e *Examples) Merge(o *Examples) {
	e.Count += o.Count
	for _, x := range o.List {
		if e.Full() {
			break
		}
		e.List = append(e.List, x)
	}
}

// Lines renders the descriptions, "KIND: DESCRIPTION", and one line for the rest.
func (e *Examples) Lines() []string {
	out := make([]string, 0, len(e.List)+1)
	for _, x := range e.List {
		out = append(out, e.Kind+": "+x)
	}
	if rest := e.Count - int64(len(e.List)); rest > 0 {
		out = append(out, fmt.Sprintf("%s: … and %d more", e.Kind, rest))
	}
	return out
}
