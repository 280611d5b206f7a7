package openai

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestDecodeEmbeddingRequest(t *testing.T) {
	tests := []struct {
		name, body string
		input      []string
		param, msg string // for errors
	}{
		{name: "string", body: `{"model":"m","input":"hello"}`, input: []string{"hello"}},
		{name: "array", body: `{"model":"m","input":["a","b"],"dimensions":256,"encoding_format":"base64","user":"u"}`, input: []string{"a", "b"}},
		{name: "token array", body: `{"model":"m","input":[1,2,3]}`, param: "input", msg: "Token arrays are not supported"},
		{name: "array of token arrays", body: `{"model":"m","input":[[1,2],[3]]}`, param: "input", msg: "Token arrays are not supported"},
		{name: "mixed array", body: `{"model":"m","input":["a",true]}`, param: "input[1]", msg: "expected a string"},
		{name: "number", body: `{"model":"m","input":5}`, param: "input", msg: "string or an array of strings"},
		{name: "missing input", body: `{"model":"m"}`, param: "input", msg: "Missing required parameter"},
		{name: "empty array", body: `{"model":"m","input":[]}`, param: "input", msg: "must not be empty"},
		{name: "empty string", body: `{"model":"m","input":["a",""]}`, param: "input[1]", msg: "empty string"},
		{name: "missing model", body: `{"input":"a"}`, param: "model", msg: "model parameter"},
		{name: "bad dimensions", body: `{"model":"m","input":"a","dimensions":0}`, param: "dimensions", msg: "at least 1"},
		{name: "bad format", body: `{"model":"m","input":"a","encoding_format":"int8"}`, param: "encoding_format", msg: "'float' and 'base64'"},
		{name: "empty body", body: ` `, param: "", msg: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := DecodeEmbeddingRequest([]byte(tt.body))
			if tt.msg != "" {
				checkInvalid(t, err, tt.param, tt.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(req.Input, tt.input) {
				t.Errorf("input = %q, want %q", req.Input, tt.input)
			}
		})
	}
}

func TestVectorFormats(t *testing.T) {
	v := []float32{0.5, -1.25, 3.0e-7, 0}
	asFloats := js(Vector{Values: v})
	if asFloats != `[0.5,-1.25,3e-7,0]` {
		t.Errorf("float form = %s", asFloats)
	}
	asBase64 := js(Vector{Values: v, Base64: true})
	// 0.5 is 0x3f000000 little-endian: 00 00 00 3f.
	if !strings.HasPrefix(asBase64, `"AAAAP`) {
		t.Errorf("base64 form = %s", asBase64)
	}
	for _, form := range []string{asFloats, asBase64} {
		var back Vector
		if err := json.Unmarshal([]byte(form), &back); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back.Values, v) {
			t.Errorf("%s decoded to %v", form, back.Values)
		}
	}
	var bad Vector
	if err := json.Unmarshal([]byte(`"AAA"`), &bad); err == nil {
		t.Error("truncated base64 accepted")
	}
}

func TestUnionMarshal(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"string content", TextContent("hi"), `"hi"`},
		{"parts content", &Content{Parts: []ContentPart{TextPart("a"), {Type: PartImageURL, ImageURL: &ImageURL{URL: "data:x"}}}}, `[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:x"}}]`},
		{"stop", Stop{"a"}, `["a"]`},
		{"tool choice mode", ToolChoice{Mode: "auto"}, `"auto"`},
		{"tool choice function", ToolChoice{Function: "f"}, `{"type":"function","function":{"name":"f"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := js(tt.v); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
