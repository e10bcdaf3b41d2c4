package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/xeipuuv/gojsonschema"
	"sigs.k8s.io/yaml"
)

// parseValuesYAML reads a values file as Helm does: through YAML-to-JSON, so
// every number is a float64 (the reason charts pipe integers through `int`).
func parseValuesYAML(data []byte) (map[string]interface{}, error) {
	values := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, err
	}
	return values, nil
}

// mergeMaps layers b over a: maps merge key by key, anything else replaces.
// A null stays null here; coalescing with the chart's defaults removes it.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]interface{}); ok {
			if om, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(om, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// coalesceValues layers the user's values over the chart's defaults. A key the
// user sets to null is removed (Helm's way to unset a default); maps merge;
// scalars and lists from the user replace the default.
func coalesceValues(defaults, user map[string]interface{}) map[string]interface{} {
	out := deepCopy(user).(map[string]interface{})
	coalesceInto(out, deepCopy(defaults).(map[string]interface{}))
	return out
}

func coalesceInto(dst, defaults map[string]interface{}) {
	for key, def := range defaults {
		current, present := dst[key]
		switch {
		case !present:
			dst[key] = def
		case current == nil:
			delete(dst, key)
		default:
			currentMap, currentIsMap := current.(map[string]interface{})
			defMap, defIsMap := def.(map[string]interface{})
			if currentIsMap && defIsMap {
				coalesceInto(currentMap, defMap)
			}
		}
	}
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}

// validateSchema checks the coalesced values against values.schema.json and
// words a failure as Helm does, one "- field: problem" line per error.
func validateSchema(chartName string, schema []byte, values map[string]interface{}) error {
	document, err := json.Marshal(values)
	if err != nil {
		return err
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(document))
	if err != nil {
		return fmt.Errorf("values.schema.json of %s: %s", chartName, err)
	}
	if result.Valid() {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n", chartName)
	for _, problem := range result.Errors() {
		fmt.Fprintf(&b, "- %s\n", problem)
	}
	return errors.New(strings.TrimSuffix(b.String(), "\n"))
}

// maxListIndex bounds a[N]= as Helm does, so a typo cannot allocate gigabytes.
const maxListIndex = 65536

// setParser reads Helm's --set syntax: `a.b=c,d[0]=e,f={x,y}`, with `\` escaping
// the next character. Values are typed as Helm types them: true/false, null,
// integers without a leading zero as int64, anything else (0.5 included) as a
// string; with --set-string every value is a string.
type setParser struct {
	in       []rune
	pos      int
	asString bool
}

func parseSet(s string, dest map[string]interface{}, asString bool) error {
	p := &setParser{in: []rune(s), asString: asString}
	for p.pos < len(p.in) {
		if err := p.assignment(dest); err != nil {
			return err
		}
	}
	return nil
}

// readUntil returns the text up to the first rune of stop (consumed) and that
// rune, or 0 at the end of input.
func (p *setParser) readUntil(stop string) (string, rune) {
	var b strings.Builder
	for p.pos < len(p.in) {
		r := p.in[p.pos]
		p.pos++
		if r == '\\' && p.pos < len(p.in) {
			b.WriteRune(p.in[p.pos])
			p.pos++
			continue
		}
		if strings.ContainsRune(stop, r) {
			return b.String(), r
		}
		b.WriteRune(r)
	}
	return b.String(), 0
}

func (p *setParser) assignment(dest map[string]interface{}) error {
	key, last := p.readUntil("=[,.")
	switch last {
	case 0:
		if key == "" {
			return nil
		}
		return fmt.Errorf("key %q has no value", key)
	case ',':
		return fmt.Errorf("key %q has no value (cannot end with ,)", key)
	case '.':
		inner, err := childMap(dest, key)
		if err != nil {
			return err
		}
		if err := p.assignment(inner); err != nil {
			return err
		}
		if len(inner) == 0 {
			return fmt.Errorf("key map %q has no value", key)
		}
		if key != "" {
			dest[key] = inner
		}
		return nil
	case '[':
		var list []interface{}
		if existing, ok := dest[key]; ok && existing != nil {
			l, ok := existing.([]interface{})
			if !ok {
				return fmt.Errorf("key %q is not a list", key)
			}
			list = l
		}
		list, err := p.listItem(list)
		if err != nil {
			return err
		}
		if key != "" {
			dest[key] = list
		}
		return nil
	default: // '='
		value, err := p.value()
		if err != nil {
			return err
		}
		if key != "" {
			dest[key] = value
		}
		return nil
	}
}

func childMap(dest map[string]interface{}, key string) (map[string]interface{}, error) {
	existing, ok := dest[key]
	if !ok || existing == nil {
		return map[string]interface{}{}, nil
	}
	m, ok := existing.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("key %q is not a map", key)
	}
	return m, nil
}

// listItem handles what follows `[`: the index, `]`, then `=value`, `.key…`
// or another `[index]`.
func (p *setParser) listItem(list []interface{}) ([]interface{}, error) {
	indexText, last := p.readUntil("]")
	if last != ']' {
		return nil, errors.New("error parsing index: missing ]")
	}
	index, err := strconv.Atoi(indexText)
	if err != nil {
		return nil, fmt.Errorf("error parsing index: %s", err)
	}
	if index < 0 {
		return nil, fmt.Errorf("negative %d index not allowed", index)
	}
	if index > maxListIndex {
		return nil, fmt.Errorf("index of %d is greater than maximum supported index of %d", index, maxListIndex)
	}
	for len(list) <= index {
		list = append(list, nil)
	}
	rest, next := p.readUntil("[.=")
	if rest != "" {
		return nil, fmt.Errorf("unexpected data at end of array index: %q", rest)
	}
	switch next {
	case '=':
		value, err := p.value()
		if err != nil {
			return nil, err
		}
		list[index] = value
	case '.':
		inner, ok := list[index].(map[string]interface{})
		if !ok {
			inner = map[string]interface{}{}
		}
		if err := p.assignment(inner); err != nil {
			return nil, err
		}
		list[index] = inner
	case '[':
		nested, _ := list[index].([]interface{})
		nested, err := p.listItem(nested)
		if err != nil {
			return nil, err
		}
		list[index] = nested
	default:
		return nil, errors.New("key has no value after the index")
	}
	return list, nil
}

// value reads `{a,b}` as a list or anything up to the next comma as a scalar.
func (p *setParser) value() (interface{}, error) {
	if p.pos < len(p.in) && p.in[p.pos] == '{' {
		p.pos++
		list := []interface{}{}
		for {
			item, last := p.readUntil(",}")
			switch last {
			case 0:
				return nil, errors.New("list must terminate with '}'")
			case '}':
				list = append(list, p.typed(item))
				if p.pos < len(p.in) && p.in[p.pos] == ',' {
					p.pos++
				}
				return list, nil
			default:
				list = append(list, p.typed(item))
			}
		}
	}
	text, _ := p.readUntil(",")
	return p.typed(text), nil
}

func (p *setParser) typed(text string) interface{} {
	if p.asString {
		return text
	}
	switch strings.ToLower(text) {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	case "0":
		return int64(0)
	}
	if text != "" && text[0] != '0' {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
	}
	return text
}
