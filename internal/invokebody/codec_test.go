package invokebody

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Shared test helpers.

func chatCodec(t testing.TB, name string) ChatCodec {
	t.Helper()
	c, ok := Lookup(name)
	if !ok {
		t.Fatalf("Lookup(%q) failed", name)
	}
	cc, ok := c.(ChatCodec)
	if !ok {
		t.Fatalf("%s codec is not a ChatCodec", name)
	}
	return cc
}

// sameJSON reports whether two JSON texts are equal as values.
func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("test has invalid JSON %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// wantRequest checks a decoded request against the expected Converse JSON.
func wantRequest(t *testing.T, req *converse.Request, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	got, _ := json.Marshal(req)
	if !sameJSON(t, got, want) {
		t.Errorf("request mismatch\n got: %s\nwant: %s", got, want)
	}
	if err := req.Validate(); err != nil {
		t.Errorf("decoded request does not pass Validate: %v", err)
	}
}

// wantValidation checks err is a ValidationException with exactly msg.
func wantValidation(t *testing.T, err error, msg string) {
	t.Helper()
	var ae *apierror.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *apierror.Error", err, err)
	}
	if ae.Code != apierror.Validation {
		t.Errorf("code = %s, want ValidationException", ae.Code)
	}
	if ae.Message != msg {
		t.Errorf("message mismatch\n got: %s\nwant: %s", ae.Message, msg)
	}
}

// malformedMsg wraps violations the way Bedrock does.
func malformedMsg(violations ...string) string {
	return "Malformed input request: " + strings.Join(violations, "") + ", please reformat your input and try again."
}

func TestForModelID(t *testing.T) {
	for id, want := range map[string]string{
		"anthropic.claude-3-haiku-20240307-v1:0":      Anthropic,
		"anthropic.claude-sonnet-4-5-20250929-v1:0":   Anthropic,
		"amazon.titan-text-express-v1":                TitanText,
		"amazon.titan-text-premier-v1:0":              TitanText,
		"amazon.titan-embed-text-v1":                  TitanEmbed,
		"amazon.titan-embed-text-v2:0":                TitanEmbed,
		"amazon.nova-lite-v1:0":                       Nova,
		"amazon.nova-pro-v1:0":                        Nova,
		"amazon.nova-canvas-v1:0":                     NovaCanvas,
		"amazon.nova-sonic-v1:0":                      "",
		"meta.llama3-8b-instruct-v1:0":                Llama,
		"meta.llama3-2-11b-instruct-v1:0":             Llama,
		"mistral.mistral-7b-instruct-v0:2":            Mistral,
		"cohere.command-r-v1:0":                       Cohere,
		"amazon.titan-image-generator-v1":             TitanImage,
		"":                                            "",
		"us.anthropic.claude-3-haiku-20240307-v1:0":   "",
		"anthropic":                                   "",
		"amazon.titan-embed-image-v1":                 TitanEmbedImage,
		"mistral.mixtral-8x7b-instruct-v0:1":          Mistral,
		"meta.llama3-1-405b-instruct-v1:0":            Llama,
		"amazon.nova-micro-v1:0":                      Nova,
		"amazon.titan-text-lite-v1":                   TitanText,
		"anthropic.claude-3-5-sonnet-20240620-v1:0":   Anthropic,
		"anthropic.claude-instant-v1":                 Anthropic,
		"amazon.titan-embed-g1-text-02":               TitanEmbed,
		"amazon.nova-2-multimodal-embeddings-v1:0":    "",
		"meta.llama4-maverick-17b-instruct-v1:0":      Llama,
		"mistral.mistral-large-2407-v1:0":             MistralChat,
		"amazon.nova-premier-v1:0":                    Nova,
		"anthropic.claude-opus-4-1-20250805-v1:0":     Anthropic,
		"amazon.rerank-v1:0":                          "",
		"ai21.jamba-1-5-large-v1:0":                   Jamba,
		"deepseek.r1-v1:0":                            DeepSeek,
		"amazon.titan-text-express-v1:0:8k":           TitanText,
		"meta.llama2-13b-chat-v1":                     Llama,
		"mistral.mistral-small-2402-v1:0":             Mistral,
		"anthropic.claude-3-7-sonnet-20250219-v1:0":   Anthropic,
		"amazon.nova-reel-v1:0":                       NovaReel,
		"amazon.titan-embed-text-v2:0:8k":             TitanEmbed,
		"amazon.nova-lite-v1:0:300k":                  Nova,
		"anthropic.claude-3-haiku-20240307-v1:0:200k": Anthropic,
	} {
		if got := ForModelID(id); got != want {
			t.Errorf("ForModelID(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, name := range Names() {
		c, ok := Lookup(name)
		if !ok {
			t.Fatalf("Lookup(%q) failed", name)
		}
		_, chat := c.(ChatCodec)
		_, embed := c.(EmbedCodec)
		_, img := c.(ImageCodec)
		_, video := c.(VideoCodec)
		if n := btoi(chat) + btoi(embed) + btoi(img) + btoi(video); n != 1 {
			t.Errorf("%s: codec must implement exactly one of ChatCodec (%v), EmbedCodec (%v), ImageCodec (%v) and VideoCodec (%v)", name, chat, embed, img, video)
		}
		if img != (name == NovaCanvas || name == TitanImage || name == Stability) {
			t.Errorf("%s: ImageCodec = %v", name, img)
		}
		if embed != (name == TitanEmbed || name == TitanEmbedImage || name == CohereEmbed) {
			t.Errorf("%s: EmbedCodec = %v", name, embed)
		}
	}
	if _, ok := Lookup("cohere.command"); ok {
		t.Error("Lookup(cohere.command) succeeded")
	}
	if len(Names()) != len(codecs) {
		t.Errorf("Names() has %d entries, codecs %d", len(Names()), len(codecs))
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestDefaultMax(t *testing.T) {
	for _, c := range []struct {
		m    Model
		want int
	}{
		{Model{}, 512},
		{Model{DefaultMaxTokens: 300}, 300},
		{Model{MaxOutputTokens: 100}, 100},
		{Model{MaxOutputTokens: 4096}, 512},
	} {
		if got := defaultMax(c.m, 512); got != c.want {
			t.Errorf("defaultMax(%+v) = %d, want %d", c.m, got, c.want)
		}
	}
}
