package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	wire "github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// The record of a passed answer reads the same usage and stop reason as a
// translated one, from every recorded answer, and the answer is returned
// byte for byte.
func TestChatCompletionsReadsWhatTranslationReads(t *testing.T) {
	for _, fixture := range []string{"openai_chat.json", "openai_structured_chat.json", "ollama_chat.json"} {
		t.Run(fixture, func(t *testing.T) {
			srv, _ := replay(t, exchange{path: "/v1/chat/completions", auth: "Bearer " + testKey, fixture: fixture})
			p, err := New(Options{BaseURL: srv.URL + "/v1", APIKey: testKey})
			if err != nil {
				t.Fatal(err)
			}
			body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
			got, err := p.ChatCompletions(context.Background(), provider.Call{ModelID: "gpt-4o"}, &provider.ChatCompletionsRequest{Body: body, Model: "gpt-4o"})
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := os.ReadFile("testdata/" + fixture)
			if !bytes.Equal(got.Body, answer) {
				t.Errorf("body changed:\n%s", got.Body)
			}
			var cc wire.ChatCompletion
			if err := json.Unmarshal(answer, &cc); err != nil {
				t.Fatal(err)
			}
			want, err := translate.ChatCompletionToConverse(&cc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Response.Usage, want.Usage) || got.Response.StopReason != want.StopReason {
				t.Errorf("read usage %+v stop %s, translation reads %+v %s", got.Response.Usage, got.Response.StopReason, want.Usage, want.StopReason)
			}
		})
	}
}

func TestChatCompletionsBodyEditedInPlace(t *testing.T) {
	const caller = `{"model": "alias",  "messages": [{"role":"user","content":"hi"}], "x": {"keep": [1, 2]}}`
	tests := []struct {
		name   string
		legacy bool
		req    provider.ChatCompletionsRequest
		stream bool
		want   string
	}{
		{"nothing to change", false, provider.ChatCompletionsRequest{Body: []byte(caller), Model: "gpt-4o"}, false,
			`{"model": "alias",  "messages": [{"role":"user","content":"hi"}], "x": {"keep": [1, 2]}}`},
		{"model renamed", false, provider.ChatCompletionsRequest{Body: []byte(caller), Model: "alias"}, false,
			`{"model": "gpt-4o",  "messages": [{"role":"user","content":"hi"}], "x": {"keep": [1, 2]}}`},
		{"default budget, OpenAI's name", false, provider.ChatCompletionsRequest{Body: []byte(caller), Model: "gpt-4o", MaxTokens: 300}, false,
			`{"model": "alias",  "messages": [{"role":"user","content":"hi"}], "x": {"keep": [1, 2]},"max_completion_tokens":300}`},
		{"default budget, a legacy server's name", true, provider.ChatCompletionsRequest{Body: []byte(caller), Model: "gpt-4o", MaxTokens: 300}, false,
			`{"model": "alias",  "messages": [{"role":"user","content":"hi"}], "x": {"keep": [1, 2]},"max_tokens":300}`},
		{"max_completion_tokens renamed for a legacy server", true,
			provider.ChatCompletionsRequest{Body: []byte(`{"model":"gpt-4o","max_completion_tokens":9,"messages":[]}`), Model: "gpt-4o", MaxCompletionTokens: true}, false,
			`{"model":"gpt-4o","messages":[],"max_tokens":9}`},
		{"stream asks for usage", false, provider.ChatCompletionsRequest{Body: []byte(`{"model":"gpt-4o","stream":true,"messages":[]}`), Model: "gpt-4o"}, true,
			`{"model":"gpt-4o","stream":true,"messages":[],"stream_options":{"include_usage":true}}`},
		{"stream whose caller asked for usage", false,
			provider.ChatCompletionsRequest{Body: []byte(`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}`), Model: "gpt-4o", IncludeUsage: true}, true,
			`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}`},
		{"stream_options kept, usage added", false,
			provider.ChatCompletionsRequest{Body: []byte(`{"model":"gpt-4o","stream":true,"stream_options":{"x":1}}`), Model: "gpt-4o"}, true,
			`{"model":"gpt-4o","stream":true,"stream_options":{"x":1,"include_usage":true}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Provider{name: "OpenAI", legacyMaxTokens: tt.legacy}
			before := string(tt.req.Body)
			got, err := p.passBody(provider.Call{ModelID: "m", UpstreamModel: "gpt-4o"}, &tt.req, tt.stream)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if string(tt.req.Body) != before {
				t.Errorf("the caller's body changed: %s", tt.req.Body)
			}
		})
	}
}

// A 200 answer without choices that holds an error is that error, as a
// translated call reports it.
func TestChatCompletionsErrorInA200(t *testing.T) {
	for _, fixture := range []string{"openai_error_429.json", "openai_error_400.json"} {
		srv, _ := replay(t, exchange{path: "/v1/chat/completions", fixture: fixture})
		p, err := New(Options{BaseURL: srv.URL + "/v1"})
		if err != nil {
			t.Fatal(err)
		}
		call := provider.Call{ModelID: "gpt-4o"}
		_, err = p.ChatCompletions(context.Background(), call, &provider.ChatCompletionsRequest{Body: []byte(`{"model":"gpt-4o"}`), Model: "gpt-4o"})
		_, want := p.Converse(context.Background(), call, &converse.Request{Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("hi")}}}})
		var e, w *apierror.Error
		if !errors.As(err, &e) || !errors.As(want, &w) || e.Code != w.Code || e.Message != w.Message {
			t.Errorf("%s: got %v, want %v as translated", fixture, err, want)
		}
	}
}

// A passed stream hands over the upstream's bytes: all of them when the
// caller asked for the usage chunk, all but that chunk otherwise, while
// the events carry the usage either way.
func TestChatCompletionsStreamRelaysTheUpstreamBytes(t *testing.T) {
	for _, fixture := range []string{"openai_chat_stream.sse", "openai_tool_stream.sse", "ollama_chat_stream.sse", "ollama_tool_stream.sse"} {
		for _, includeUsage := range []bool{true, false} {
			srv, _ := replay(t, exchange{path: "/v1/chat/completions", fixture: fixture})
			p, err := New(Options{BaseURL: srv.URL + "/v1"})
			if err != nil {
				t.Fatal(err)
			}
			st, err := p.ChatCompletionsStream(context.Background(), provider.Call{ModelID: "gpt-4o"},
				&provider.ChatCompletionsRequest{Body: []byte(`{"model":"gpt-4o","stream":true}`), Model: "gpt-4o", IncludeUsage: includeUsage})
			if err != nil {
				t.Fatal(err)
			}
			relayed, usage := relayAll(t, st)
			upstream, _ := os.ReadFile("testdata/" + fixture)
			want := upstream
			if !includeUsage {
				want = nil
				for _, ev := range bytes.SplitAfter(upstream, []byte("\n\n")) {
					if !bytes.Contains(ev, []byte(`"choices":[]`)) {
						want = append(want, ev...)
					}
				}
			}
			if !bytes.Equal(relayed, want) {
				t.Errorf("%s (include_usage %v): relayed\n%s\nwant\n%s", fixture, includeUsage, relayed, want)
			}
			if usage == 0 && bytes.Contains(upstream, []byte(`"choices":[]`)) {
				t.Errorf("%s: no usage in the events", fixture)
			}
		}
	}
}

// A server that ignores stream: true and answers in one piece: the answer
// is replayed as the chunks the caller asked for, named as the answer was.
func TestChatCompletionsStreamFromAnAnswerInOnePiece(t *testing.T) {
	srv, _ := replay(t, exchange{path: "/v1/chat/completions", fixture: "openai_chat.json"})
	p, err := New(Options{BaseURL: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.ChatCompletionsStream(context.Background(), provider.Call{ModelID: "gpt-4o"},
		&provider.ChatCompletionsRequest{Body: []byte(`{"model":"gpt-4o","stream":true}`), Model: "gpt-4o", IncludeUsage: true})
	if err != nil {
		t.Fatal(err)
	}
	var acc struct{ text, id string }
	relayed, usage := relayAll(t, st)
	for _, frame := range bytes.Split(relayed, []byte("\n\n")) {
		data, ok := bytes.CutPrefix(frame, []byte("data: "))
		if !ok || string(data) == "[DONE]" {
			continue
		}
		var c wire.ChatCompletionChunk
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		acc.id = c.ID
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				acc.text += *ch.Delta.Content
			}
		}
	}
	if acc.text != "Hello! How can I assist you today?" || acc.id != "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT" || usage != 10 ||
		!bytes.HasSuffix(relayed, []byte("data: [DONE]\n\n")) {
		t.Errorf("replayed %q id %s usage %d:\n%s", acc.text, acc.id, usage, relayed)
	}
}

// A passed embeddings answer is returned as sent, with its token count;
// one with another number of embeddings than inputs is refused.
func TestEmbeddingsPassedAsSent(t *testing.T) {
	srv, _ := replay(t, exchange{path: "/v1/embeddings", fixture: "openai_embeddings.json"})
	p, err := New(Options{BaseURL: srv.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"model":"text-embedding-3-small","input":["a","b"]}`)
	for _, inputs := range []int{2, 3} {
		got, err := p.Embeddings(context.Background(), provider.Call{ModelID: "text-embedding-3-small"},
			&provider.EmbeddingsRequest{Body: body, Model: "text-embedding-3-small", Inputs: inputs})
		want, _ := os.ReadFile("testdata/openai_embeddings.json")
		switch {
		case inputs == 2 && (err != nil || !bytes.Equal(got.Body, want) || got.Response.Usage.InputTokens != 8):
			t.Errorf("2 inputs: %v, usage %+v", err, got)
		case inputs == 3 && err == nil:
			t.Errorf("3 inputs, 2 embeddings: accepted")
		}
	}
}

// relayAll reads a passed stream to its end: the bytes it hands over, and
// the output tokens of its metadata event.
func relayAll(t *testing.T, st provider.RawStream) (relayed []byte, outputTokens int) {
	t.Helper()
	for {
		ev, err := st.Next()
		if err == io.EOF {
			return relayed, outputTokens
		}
		if err != nil {
			t.Fatal(err)
		}
		relayed = append(relayed, st.Raw()...)
		if ev.Metadata != nil {
			outputTokens = ev.Metadata.Usage.OutputTokens
		}
	}
}
