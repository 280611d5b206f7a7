package anthropic

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
)

// jsonKeys returns the JSON member names of a struct type's fields, so
// that unknown members can be told apart from modelled ones.
func jsonKeys(t reflect.Type) map[string]bool {
	keys := make(map[string]bool, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		keys[name] = true
	}
	return keys
}

// unknownMembers returns the members of the JSON object b whose names are
// not in known, or nil when there are none.
func unknownMembers(b []byte, known map[string]bool) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	var extra map[string]json.RawMessage
	for k, v := range all {
		if !known[k] {
			if extra == nil {
				extra = map[string]json.RawMessage{}
			}
			extra[k] = v
		}
	}
	return extra, nil
}

// withExtra marshals v (a struct) and appends the extra members it does not
// already have, in name order, so a decoded value is written back whole.
func withExtra(v any, extra map[string]json.RawMessage, known map[string]bool) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	names := make([]string, 0, len(extra))
	for k := range extra {
		if !known[k] {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	b = bytes.TrimSuffix(b, []byte("}"))
	for _, k := range names {
		if len(b) > 1 {
			b = append(b, ',')
		}
		key, _ := json.Marshal(k)
		b = append(b, key...)
		b = append(b, ':')
		v := extra[k]
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// firstByte returns the first non-space byte of b, or 0.
func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}
