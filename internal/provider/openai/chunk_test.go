package openai

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	wire "github.com/modelwatch/modelwatch/internal/apischema/openai"
)

// recordedChunks are the data of every chunk in the recorded streams.
func recordedChunks(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, name := range []string{"openai_chat_stream.sse", "openai_tool_stream.sse", "ollama_chat_stream.sse", "ollama_tool_stream.sse"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok && d[0] == '{' {
				out = append(out, d)
			}
		}
	}
	return out
}

// withoutSkipped is a chunk decoded by encoding/json, less the members
// decodeChunk does not read.
func withoutSkipped(c wire.ChatCompletionChunk) wire.ChatCompletionChunk {
	c.ID, c.Object, c.Created, c.Model, c.SystemFingerprint = "", "", 0, "", ""
	for i := range c.Choices {
		c.Choices[i].Logprobs = nil
	}
	return c
}

func TestDecodeChunkReadsWhatEncodingJSONReads(t *testing.T) {
	chunks := append(recordedChunks(t),
		[]byte(`{"choices":[{"index":0,"delta":{"content":"esc\"aped \u00e9\n","reasoning_content":"think"},"finish_reason":null}]}`),
		[]byte(`{"choices":[{"index":1,"delta":{"refusal":"no"},"finish_reason":"content_filter"}],"usage":null}`),
		[]byte(`{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":3}},"future":{"x":[1]}}`),
		[]byte(`{"choices":[{"index":0,"delta":null}],"choices":[{"index":0,"delta":{"reasoning":"r"}}]}`),
	)
	for _, data := range chunks {
		var want wire.ChatCompletionChunk
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		var got wire.ChatCompletionChunk
		if err := decodeChunk(data, &got); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if w := withoutSkipped(want); !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", data, got, w)
		}
	}
}

func TestDecodeChunkRefusesWhatIsNotAChunk(t *testing.T) {
	for _, data := range []string{
		``, `{`, `[]`, `"x"`, `{"choices":{}}`, `{"choices":[1]}`, `{"choices":[{"index":"0"}]}`,
		`{"choices":[{"delta":{"content":5}}]}`, `{"choices":[{"finish_reason":true}]}`, `{"usage":[]}`,
		`{"choices":[{"delta":{"tool_calls":{}}}]}`, `{"choices":[{"delta":[]}]}`,
	} {
		var c wire.ChatCompletionChunk
		if err := decodeChunk([]byte(data), &c); err == nil {
			t.Errorf("%q decoded as %+v, want an error", data, c)
		}
	}
}

// The strings decoded do not share the chunk's memory, which the stream
// reuses for the next event.
func TestDecodeChunkCopiesItsStrings(t *testing.T) {
	data := []byte(`{"choices":[{"index":0,"delta":{"content":"hello"},"finish_reason":"stop"}]}`)
	var c wire.ChatCompletionChunk
	if err := decodeChunk(data, &c); err != nil {
		t.Fatal(err)
	}
	copy(data, strings.Repeat("x", len(data)))
	if *c.Choices[0].Delta.Content != "hello" || *c.Choices[0].FinishReason != "stop" {
		t.Errorf("decoded strings changed with the buffer: %q %q", *c.Choices[0].Delta.Content, *c.Choices[0].FinishReason)
	}
}

// FuzzDecodeChunk: never a panic, and never a chunk read from bytes that
// are not JSON.
func FuzzDecodeChunk(f *testing.F) {
	for _, c := range recordedChunks(f) {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c wire.ChatCompletionChunk
		if decodeChunk(data, &c) == nil && !json.Valid(data) {
			t.Errorf("%q is not JSON but decoded", data)
		}
	})
}

func BenchmarkDecodeChunk(b *testing.B) {
	chunks := recordedChunks(b)
	b.Run("gjson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, d := range chunks {
				var c wire.ChatCompletionChunk
				if err := decodeChunk(d, &c); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, d := range chunks {
				var c wire.ChatCompletionChunk
				if err := json.Unmarshal(d, &c); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
