package logquery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/modelwatch/modelwatch/internal/invocationlog"
)

// Resolve fetches the bodies r refers to by input.inputBodyS3Path and
// output.outputBodyS3Path (s3://bucket/key, gzip JSON, read through
// s.Store whatever bucket the path names) into InputBodyJSON and
// OutputBodyJSON. The paths are kept. A body already inline is left alone.
// An offloaded body that is not JSON (binary data) becomes a JSON string
// holding its base64.
func (s Source) Resolve(ctx context.Context, r *invocationlog.Record) error {
	if r.Input.InputBodyS3Path != "" && len(r.Input.InputBodyJSON) == 0 {
		b, err := s.fetchBody(ctx, r.Input.InputBodyS3Path)
		if err != nil {
			return err
		}
		r.Input.InputBodyJSON = b
	}
	if r.Output.OutputBodyS3Path != "" && len(r.Output.OutputBodyJSON) == 0 {
		b, err := s.fetchBody(ctx, r.Output.OutputBodyS3Path)
		if err != nil {
			return err
		}
		r.Output.OutputBodyJSON = b
	}
	return nil
}

// ResolveLine is Resolve for a stored line: it returns raw with
// input.inputBodyJson and output.outputBodyJson added (right after the
// S3 path) where the record has only an S3 path, keeping every other field,
// including ones Record does not know, in its order. A line with nothing to
// resolve is returned unchanged; otherwise the result is compact JSON.
func (s Source) ResolveLine(ctx context.Context, raw []byte) ([]byte, error) {
	rec, err := parseObject(raw)
	if err != nil {
		return raw, err
	}
	changed := false
	for _, side := range []struct{ obj, path, body string }{
		{"input", "inputBodyS3Path", "inputBodyJson"},
		{"output", "outputBodyS3Path", "outputBodyJson"},
	} {
		i := rec.index(side.obj)
		if i < 0 {
			continue
		}
		part, err := parseObject(rec[i].value)
		if err != nil {
			continue
		}
		j := part.index(side.path)
		var path string
		if j < 0 || json.Unmarshal(part[j].value, &path) != nil || path == "" {
			continue
		}
		if k := part.index(side.body); k >= 0 && !bytes.Equal(part[k].value, []byte("null")) {
			continue
		}
		body, err := s.fetchBody(ctx, path)
		if err != nil {
			return raw, err
		}
		if k := part.index(side.body); k >= 0 {
			part[k].value = body
		} else {
			part = slices.Insert(part, j+1, member{side.body, body})
		}
		rec[i].value = part.encode()
		changed = true
	}
	if !changed {
		return raw, nil
	}
	return rec.encode(), nil
}

// object is a JSON object's members in their order.
type object []member

type member struct {
	key   string
	value json.RawMessage
}

// parseObject splits a JSON object into its members.
func parseObject(b []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var o object
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o = append(o, member{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o object) index(key string) int {
	return slices.IndexFunc(o, func(m member) bool { return m.key == key })
}

// encode writes o as compact JSON, values byte for byte.
func (o object) encode() json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(m.value)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// fetchBody reads an offloaded body: s3://bucket/key, gunzipped.
func (s Source) fetchBody(ctx context.Context, path string) (json.RawMessage, error) {
	bucket, key, ok := parseS3Path(path)
	if !ok {
		return nil, fmt.Errorf("offloaded body %q is not an s3://bucket/key path", path)
	}
	b, err := s.Store.Get(ctx, bucket, key)
	if err != nil {
		return nil, fmt.Errorf("offloaded body %s: %w", path, err)
	}
	data, err := decompress(b)
	if err != nil {
		return nil, fmt.Errorf("offloaded body %s: %w", path, err)
	}
	data = bytes.TrimSpace(data)
	if !json.Valid(data) {
		return json.Marshal(data) // base64 string
	}
	return data, nil
}

// parseS3Path splits s3://bucket/key.
func parseS3Path(p string) (bucket, key string, ok bool) {
	rest, ok := strings.CutPrefix(p, "s3://")
	if !ok {
		return "", "", false
	}
	bucket, key, ok = strings.Cut(rest, "/")
	return bucket, key, ok && bucket != "" && key != ""
}
