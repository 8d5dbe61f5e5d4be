package report

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/charmbracelet/x/ansi"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/chronik-e2e/chronik-e2e/docs"
)

// A report read back is input like a profile: a hand-edited or truncated
// file must end in an error that names the problem, never in a crash, and
// its strings must not reach the terminal with escape sequences in them.

// schemaID is docs/report.schema.json's $id.
const schemaID = "https://github.com/chronik-e2e/chronik-e2e/docs/report.schema.json"

// maxProblems bounds the schema problems an error lists.
const maxProblems = 5

// compiledSchemas are the definitions of a run's and a repeat's report,
// compiled once from the embedded schema.
var compiledSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(docs.ReportSchema))
	if err != nil {
		return nil, fmt.Errorf("the embedded report schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaID, doc); err != nil {
		return nil, fmt.Errorf("the embedded report schema: %w", err)
	}
	out := map[string]*jsonschema.Schema{}
	for _, def := range []string{"Report", "Repeat"} {
		s, err := c.Compile(schemaID + "#/$defs/" + def)
		if err != nil {
			return nil, fmt.Errorf("the embedded report schema: %w", err)
		}
		out[def] = s
	}
	return out, nil
})

// checkSchema validates data, a report of definition def ("Report" or
// "Repeat"), against the schema: required fields, types, no null where an
// object belongs. The error lists the first problems with their JSON paths.
func checkSchema(name, def string, data []byte) error {
	schemas, err := compiledSchemas()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s is not JSON: %w", name, err)
	}
	err = schemas[def].Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return fmt.Errorf("%s: %w", name, err)
	}
	problems := schemaProblems(ve)
	more := ""
	if len(problems) > maxProblems {
		more = fmt.Sprintf("\n  and %d more", len(problems)-maxProblems)
		problems = problems[:maxProblems]
	}
	return fmt.Errorf("%s is not a valid chronik-e2e report (docs/report.schema.json):\n  %s%s",
		name, strings.Join(problems, "\n  "), more)
}

var schemaPrinter = message.NewPrinter(language.English)

// schemaProblems lists the leaves of a validation error as "at PATH: WHAT",
// sorted and without duplicates. The schema lets lists and maps be null
// (anyOf the type or null): a leaf that only says the value is not null
// is the other branch of such a choice, not a problem of its own.
func schemaProblems(ve *jsonschema.ValidationError) []string {
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		if t, ok := e.ErrorKind.(*kind.Type); ok && slices.Equal(t.Want, []string{"null"}) {
			return
		}
		at := "/" + strings.Join(e.InstanceLocation, "/")
		out = append(out, fmt.Sprintf("at %s: %s", at, e.ErrorKind.LocalizedString(schemaPrinter)))
	}
	walk(ve)
	slices.Sort(out)
	return slices.Compact(out)
}

// sanitize removes escape sequences and other control characters (but
// newlines and tabs) from every string v holds, map keys included, so that
// a report read from a file prints as text.
func sanitize(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			sanitize(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				sanitize(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			sanitize(v.Index(i))
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(cleanText(v.String()))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		clean := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			k, val := iter.Key(), reflect.New(v.Type().Elem()).Elem()
			val.Set(iter.Value())
			sanitize(val)
			if k.Kind() == reflect.String {
				k = reflect.ValueOf(cleanText(k.String())).Convert(v.Type().Key())
			}
			clean.SetMapIndex(k, val)
		}
		v.Set(clean)
	}
}

// cleanText strips escape sequences and control characters but newlines
// and tabs from s.
func cleanText(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	s = ansi.Strip(s)
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, s)
}

func isControl(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }
