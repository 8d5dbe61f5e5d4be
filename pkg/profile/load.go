package profile

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chronik-e2e/chronik-e2e/configs"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"gopkg.in/yaml.v3"
)

// BuiltinPrefix starts the Source of a profile compiled into the binary
// ("builtin:3x3.yaml"); `chronik-e2e profile show 3x3` prints it.
const BuiltinPrefix = "builtin:"

// Load reads the profile ref names. A ref with a slash is a path and is
// only read as a file (REF, or REF.yaml). A ref without one is tried, in
// order, as a file in the working directory, as ./configs/REF and
// ./configs/REF.yaml, then as a profile compiled into the binary; a local
// file that shadows a built-in profile of the same name says so in
// Profile.Shadows. An empty ref gives Default(). Keys the profile leaves out
// take Default()'s values; an absent name becomes the file's base name
// without ".yaml". Errors are exitcode.UsageError (exit 2); problems in the
// YAML come as a *ValidationError inside.
func Load(ref string) (*Profile, error) {
	if ref == "" {
		return Default(), nil
	}
	data, source, err := find(ref)
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	p, err := Parse(source, data)
	if p != nil && !isPath(ref) && !strings.HasPrefix(source, BuiltinPrefix) {
		base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(source), ".yaml"), ".yml")
		if slices.Contains(configs.Names(), base) {
			p.Shadows = BuiltinPrefix + base + ".yaml"
		}
	}
	return p, err
}

// Find returns the YAML of the profile ref names and where it was found, by
// Load's rules, without parsing it. Errors are bad usage (exit 2).
func Find(ref string) ([]byte, string, error) {
	data, source, err := find(ref)
	if err != nil {
		return nil, "", exitcode.UsageError(err)
	}
	return data, source, nil
}

// isPath reports whether ref names a file by its path: it has a slash.
func isPath(ref string) bool {
	return strings.ContainsRune(ref, '/') || strings.ContainsRune(ref, filepath.Separator)
}

// find returns the contents of the profile ref names and where they came from.
func find(ref string) (data []byte, source string, err error) {
	var tried []string
	readFile := func(name string) bool {
		tried = append(tried, name)
		st, statErr := os.Stat(name)
		if statErr != nil || st.IsDir() {
			return false
		}
		data, err = readLimited(name)
		source = name
		return true
	}
	withExt := func(name string) []string {
		if hasYAMLExt(name) {
			return []string{name}
		}
		return []string{name, name + ".yaml"}
	}
	if name, ok := strings.CutPrefix(ref, BuiltinPrefix); ok { // only the built-in one
		if b, found := Builtin(name); found {
			return b, BuiltinPrefix + withExt(name)[len(withExt(name))-1], nil
		}
		return nil, "", fmt.Errorf("no built-in profile %q; built-in profiles: %s", name, strings.Join(configs.Names(), ", "))
	}
	if isPath(ref) {
		for _, n := range withExt(ref) {
			if readFile(n) {
				return data, source, err
			}
		}
		return nil, "", fmt.Errorf("no profile file %s (tried %s); a name with a slash is only read as a file: the built-in profiles are named without one (%s)",
			ref, strings.Join(tried, ", "), strings.Join(configs.Names(), ", "))
	}
	if readFile(ref) {
		return data, source, err
	}
	for _, n := range withExt(ref) {
		if readFile(filepath.Join("configs", n)) {
			return data, source, err
		}
	}
	for _, n := range withExt(ref) {
		tried = append(tried, BuiltinPrefix+n)
		if !fs.ValidPath(n) {
			continue
		}
		if b, readErr := fs.ReadFile(configs.FS, n); readErr == nil {
			return b, BuiltinPrefix + n, nil
		}
	}
	return nil, "", fmt.Errorf("no profile %q: tried %s; built-in profiles: %s (chronik-e2e profiles lists them)",
		ref, strings.Join(tried, ", "), strings.Join(configs.Names(), ", "))
}

// MaxProfileBytes bounds a profile file: /dev/zero or a log file given by
// mistake is an error, not a runner reading forever.
const MaxProfileBytes = 1 << 20

// readLimited reads the file name, failing when it holds more than
// MaxProfileBytes.
func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxProfileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxProfileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a profile", name, MaxProfileBytes)
	}
	return data, nil
}

// Builtin returns the YAML of the built-in profile name ("3x3" or "3x3.yaml").
func Builtin(name string) ([]byte, bool) {
	if !hasYAMLExt(name) {
		name += ".yaml"
	}
	if !fs.ValidPath(name) {
		return nil, false
	}
	b, err := fs.ReadFile(configs.FS, name)
	return b, err == nil
}

func hasYAMLExt(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// Parse decodes a profile from YAML. source names it in messages and
// becomes Profile.Source; its base name without ".yaml" is the name when
// the YAML gives none. Missing keys take Default()'s values. Every unknown
// key, duplicate key and badly typed value is reported at once, with its
// line, as a *ValidationError wrapped in exitcode.UsageError. With such
// problems Parse still returns the profile as far as it could be decoded:
// its Validate reports them again together with every other problem.
func Parse(source string, data []byte) (*Profile, error) {
	p := Default()
	p.Source = source
	base := path.Base(filepath.ToSlash(strings.TrimPrefix(source, BuiltinPrefix)))
	p.Digest = fmt.Sprintf("sha256:%x", sha256.Sum256(data))
	p.Name = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	p.lines = map[string]int{}

	fail := func(problems []Problem) (*Profile, error) {
		return nil, exitcode.UsageError(&ValidationError{Source: source, Problems: problems})
	}

	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return fail(yamlProblems(err))
	}
	if len(root.Content) == 0 || resolve(root.Content[0]).ShortTag() == "!!null" {
		// An empty file, comments only, "~" or /dev/null: running the
		// built-in defaults instead would pass a gate that tested nothing
		// the user meant.
		return fail([]Problem{{Msg: "the profile is empty: give at least a scenarios list, or no --profile to run the built-in default (configs/3x3.yaml is an example)"}})
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return fail([]Problem{{Line: max(next.Line, 1), Msg: "a second YAML document starts here (after ---): a profile is one document; remove it or put it in a file of its own"}})
	case !errors.Is(err, io.EOF):
		return fail(yamlProblems(err))
	}
	c := &checker{lines: p.lines}
	c.tags(&root)
	c.section(root.Content[0], reflect.TypeFor[Profile](), "")
	if len(c.problems) > 0 {
		// Decode what can be decoded (yaml.v3 skips unknown keys and
		// badly typed values without KnownFields), so that Validate can
		// report these problems together with every other one.
		_ = yaml.Unmarshal(data, p)
		p.normalize()
		p.decodeProblems = c.problems
		_, err := fail(c.problems)
		return p, err
	}

	// The checker found nothing wrong, so this strict decode should succeed;
	// it is the one that fills p.
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(p); err != nil && !errors.Is(err, io.EOF) {
		return fail(yamlProblems(err))
	}
	p.normalize()
	return p, nil
}

// checker walks a YAML node tree against the Go types of Profile, records
// the line of every key, and collects every unknown key, duplicate key and
// badly typed value.
type checker struct {
	lines    map[string]int
	problems []Problem
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// section checks n, the value of the section at path, against struct type t.
func (c *checker) section(n *yaml.Node, t reflect.Type, key string) {
	n = resolve(n)
	if n.ShortTag() == "!!null" {
		return
	}
	known := yamlKeys(t)
	if n.Kind != yaml.MappingNode {
		c.add(key, n.Line, fmt.Sprintf("must be a mapping of keys (%s), not %s", strings.Join(known, ", "), describe(n)))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		name := k.Value
		in := ""
		if key != "" {
			in = " in " + key
		}
		if first, dup := seen[name]; dup {
			c.add("", k.Line, fmt.Sprintf("key %q%s is given twice (first on line %d)", name, in, first))
			continue
		}
		seen[name] = k.Line
		f, ok := fieldByKey(t, name)
		if !ok {
			c.add("", k.Line, fmt.Sprintf("unknown key %q%s (known: %s)", name, in, strings.Join(known, ", ")))
			continue
		}
		full := join(key, name)
		c.lines[full] = k.Line
		if isSection(f.Type) {
			c.section(v, f.Type, full)
			continue
		}
		if v.Kind == yaml.SequenceNode {
			for j, item := range v.Content {
				c.lines[fmt.Sprintf("%s[%d]", full, j)] = item.Line
			}
		}
		if v.Kind == yaml.MappingNode && f.Type.Kind() == reflect.Map {
			for j := 0; j+1 < len(v.Content); j += 2 {
				c.lines[full+"."+v.Content[j].Value] = v.Content[j].Line
			}
		}
		if customTag(v) {
			continue // tags reported it
		}
		if err := v.Decode(reflect.New(f.Type).Interface()); err != nil || !c.exact(v, f.Type) {
			c.add(full, v.Line, fmt.Sprintf("%s, not %s", expect(f.Type), describe(v)))
		}
	}
}

// exact reports whether n holds a value of type t as written, where
// yaml.v3 would convert it: a float (1.5, 1e12) or nothing (~) where a whole
// number is expected, nothing where a single value is expected.
func (c *checker) exact(n *yaml.Node, t reflect.Type) bool {
	n = resolve(n)
	if customTag(n) {
		return true // tags reported it
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		if t == reflect.TypeFor[time.Duration]() {
			return true
		}
		return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int"
	case reflect.Float64, reflect.String, reflect.Bool:
		return n.ShortTag() != "!!null"
	case reflect.Struct: // Duration and other scalars with their own decoding
		return n.ShortTag() != "!!null"
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return true // null: an empty list
		}
		for _, item := range n.Content {
			if !c.exact(item, t.Elem()) {
				return false
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return true
		}
		for i := 1; i < len(n.Content); i += 2 {
			if !c.exact(n.Content[i], t.Elem()) {
				return false
			}
		}
	}
	return true
}

// customTag reports whether n has a tag of its own (!foo), not YAML's (!!int).
func customTag(n *yaml.Node) bool {
	return n.Kind != yaml.DocumentNode && n.Kind != yaml.AliasNode && n.Tag != "" &&
		n.Tag != "!" && !strings.HasPrefix(n.ShortTag(), "!!")
}

// tags adds a problem for every node with a custom tag (!foo): yaml.v3
// ignores them, so the value would not be what the file says.
func (c *checker) tags(n *yaml.Node) {
	if customTag(n) {
		c.add("", n.Line, fmt.Sprintf("custom tag %s is not supported: a profile is plain YAML", n.Tag))
	}
	if n.Kind == yaml.AliasNode {
		return
	}
	for _, child := range n.Content {
		c.tags(child)
	}
}

func (c *checker) add(key string, line int, msg string) {
	c.problems = append(c.problems, Problem{Key: key, Line: line, Msg: msg})
}

// resolve follows an alias (*anchor) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// isSection reports whether t is a nested section the checker walks into.
func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(unmarshalerType)
}

// fieldByKey finds the field of struct t whose yaml tag is key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && tagName(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// yamlKeys lists the YAML keys of struct t in declaration order.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && tagName(f) != "-" {
			keys = append(keys, tagName(f))
		}
	}
	return keys
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

func join(section, key string) string {
	if section == "" {
		return key
	}
	return section + "." + key
}

// expect says what a value of type t must look like.
func expect(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[Duration]():
		return "must be a duration like 60s or 2m"
	case t.Kind() == reflect.Int:
		return "must be a whole number"
	case t.Kind() == reflect.Float64:
		return "must be a number"
	case t.Kind() == reflect.String:
		return "must be a single value"
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Int:
		return "must be a mapping of names to whole numbers"
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.String:
		return "must be a mapping of names to single values"
	case t.Kind() == reflect.Slice:
		return "must be a list like [a, b]"
	case t.Kind() == reflect.Map:
		return "must be a mapping of keys"
	}
	return "has the wrong type"
}

// describe says what a YAML node holds, for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	if n.ShortTag() == "!!null" {
		return "nothing"
	}
	return strconv.Quote(n.Value)
}

// yamlLine matches the "line N: " that yaml.v3 puts in its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlProblems turns a yaml.v3 error (syntax or type) into problems with lines.
func yamlProblems(err error) []Problem {
	msgs := []string{err.Error()}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	var problems []Problem
	for _, m := range msgs {
		m = strings.TrimSpace(m)
		pr := Problem{Msg: strings.TrimPrefix(m, "yaml: ")}
		if sub := yamlLine.FindStringSubmatch(m); sub != nil {
			pr.Line, _ = strconv.Atoi(sub[1])
			pr.Msg = sub[2]
		}
		problems = append(problems, pr)
	}
	return problems
}
