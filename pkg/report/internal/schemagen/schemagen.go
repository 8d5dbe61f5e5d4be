// Package schemagen generates the JSON Schema of the JSON report
// (docs/report.schema.json) from the report's Go types and their doc
// comments, so that the documented schema never drifts from the code.
package schemagen

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// ID is the schema's $id.
const ID = "https://github.com/chronik-e2e/chronik-e2e/docs/report.schema.json"

// Generate returns the schema as indented JSON. srcDir is the directory of
// package report's source, for the field descriptions.
func Generate(srcDir string) ([]byte, error) {
	r := &jsonschema.Reflector{
		// Fields are added without a new schema_version: a reader of
		// version N must accept a report of version N with more fields.
		AllowAdditionalProperties: true,
	}
	if err := r.AddGoComments("github.com/chronik-e2e/chronik-e2e/pkg/report", srcDir); err != nil {
		return nil, fmt.Errorf("read the report's doc comments: %w", err)
	}
	s := r.Reflect(&report.Repeat{}) // Repeat holds Report: every type is in its $defs
	defs := s.Definitions
	for _, name := range []string{"Report", "Repeat"} {
		d, ok := defs[name]
		if !ok {
			return nil, fmt.Errorf("no definition of %s", name)
		}
		v, ok := d.Properties.Get("schema_version")
		if !ok {
			return nil, fmt.Errorf("%s has no schema_version", name)
		}
		v.Const = report.SchemaVersion
		v.Description = fmt.Sprintf("Version %d of the report's schema; it changes only on a breaking change.", report.SchemaVersion)
	}
	kind, ok := defs["Repeat"].Properties.Get("kind")
	if !ok {
		return nil, errors.New("the Repeat definition has no kind property")
	}
	kind.Const = report.KindRepeat
	// A run's report has no kind: that is what tells the two apart.
	defs["Report"].Not = &jsonschema.Schema{Required: []string{"kind"}}
	if err := allowNull(defs, reflect.TypeFor[report.Repeat](), map[reflect.Type]bool{}); err != nil {
		return nil, err
	}

	root := &jsonschema.Schema{
		Version: jsonschema.Version,
		ID:      ID,
		Title:   fmt.Sprintf("chronik-e2e JSON report, schema_version %d", report.SchemaVersion),
		Description: "The JSON report of chronik-e2e (--json FILE): a single run's report, " +
			"or, with --repeat N, a repeat's report (\"kind\": \"repeat\") holding every run's. " +
			"Generated from pkg/report by `go generate ./pkg/report`.",
		OneOf: []*jsonschema.Schema{
			{Ref: "#/$defs/Report"},
			{Ref: "#/$defs/Repeat"},
		},
		Definitions: defs,
	}
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// allowNull lets every field of struct t (and of the structs it holds) that
// encoding/json writes as null when it is nil be null in the schema: slices,
// maps and pointers without omitempty (an empty report's "partitions": null,
// a threshold's unmeasured "value": null).
func allowNull(defs jsonschema.Definitions, t reflect.Type, seen map[reflect.Type]bool) error {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return nil
	}
	seen[t] = true
	def, ok := defs[t.Name()]
	if !ok {
		return nil // a type without a definition of its own (time.Time)
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if err := allowNull(defs, f.Type, seen); err != nil {
			return err
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || name == "" || strings.Contains(opts, "omitempty") {
			continue
		}
		switch f.Type.Kind() {
		case reflect.Slice, reflect.Map, reflect.Pointer:
		default:
			continue
		}
		prop, ok := def.Properties.Get(name)
		if !ok {
			return fmt.Errorf("%s.%s: no property %q in the schema", t.Name(), f.Name, name)
		}
		nullable := &jsonschema.Schema{Description: prop.Description, AnyOf: []*jsonschema.Schema{prop, {Type: "null"}}}
		prop.Description = ""
		def.Properties.Set(name, nullable)
	}
	return nil
}
