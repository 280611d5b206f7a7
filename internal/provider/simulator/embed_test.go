package simulator

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestEmbed(t *testing.T) {
	s := New(map[string]ModelSettings{"small": {EmbeddingDimensions: 256}}, Options{})
	embed := func(modelID string, req *provider.EmbedRequest) *provider.EmbedResponse {
		t.Helper()
		resp, err := s.Embed(context.Background(), provider.Call{ModelID: modelID}, req)
		if err != nil {
			t.Fatalf("Embed: %v", err)
		}
		if len(resp.Embeddings) != len(req.Inputs) {
			t.Fatalf("%d vectors for %d inputs", len(resp.Embeddings), len(req.Inputs))
		}
		return resp
	}

	inputs := []string{"hello world", "a different text", "hello world", ""}
	a := embed("other", &provider.EmbedRequest{Inputs: inputs})
	b := embed("other", &provider.EmbedRequest{Inputs: inputs})
	for i, v := range a.Embeddings {
		if len(v) != 1024 {
			t.Errorf("default dimensions: %d", len(v))
		}
		if !slices.Equal(v, b.Embeddings[i]) {
			t.Errorf("input %d: not deterministic", i)
		}
		// Unnormalised vectors are still of a plausible size.
		if n := norm(v); n < 0.8 || n > 1.2 {
			t.Errorf("input %d: norm %v", i, n)
		}
	}
	if !slices.Equal(a.Embeddings[0], a.Embeddings[2]) || slices.Equal(a.Embeddings[0], a.Embeddings[1]) {
		t.Error("same texts must share a vector and different texts must not")
	}
	if want := CountTokens("hello world")*2 + CountTokens("a different text"); a.InputTokens != want {
		t.Errorf("InputTokens %d, want %d", a.InputTokens, want)
	}

	small := embed("small", &provider.EmbedRequest{Inputs: []string{"hello world"}})
	if len(small.Embeddings[0]) != 256 {
		t.Errorf("model dimensions: %d", len(small.Embeddings[0]))
	}
	sized := embed("small", &provider.EmbedRequest{Inputs: []string{"hello world"}, Dimensions: 512, Normalize: true})
	if len(sized.Embeddings[0]) != 512 {
		t.Errorf("requested dimensions: %d", len(sized.Embeddings[0]))
	}
	for _, v := range embed("other", &provider.EmbedRequest{Inputs: inputs, Normalize: true}).Embeddings {
		if n := norm(v); math.Abs(n-1) > 1e-5 {
			t.Errorf("normalised vector has norm %v", n)
		}
	}

	for _, req := range []*provider.EmbedRequest{nil, {}, {Inputs: []string{"x"}, Dimensions: -1}, {Inputs: []string{"x"}, Dimensions: 1 << 20}, {Inputs: make([]string, 3000)}} {
		_, err := s.Embed(context.Background(), provider.Call{ModelID: "small"}, req)
		if ae := apierror.From(err); ae == nil || ae.Code != apierror.Validation {
			t.Errorf("%+v: got %v, want ValidationException", req, err)
		}
	}
}
