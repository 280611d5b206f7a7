package openai

import (
	"context"
	"errors"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// TestEmbedRefusesImages: /v1/embeddings takes text only, so an image
// input is a ValidationException before anything is sent.
func TestEmbedRefusesImages(t *testing.T) {
	p := newProvider(t, "http://127.0.0.1:1/v1")
	req := &provider.EmbedRequest{Inputs: []string{"a", ""}, Images: [][]provider.EmbedImage{nil, {{Format: "png", Data: []byte("x")}}}}
	_, err := p.Embed(context.Background(), provider.Call{UpstreamModel: "text-embedding-3-small"}, req)
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != apierror.Validation ||
		ae.Message != "The OpenAI provider embeds text only; this request has 1 image input(s). Route image embeddings to a multimodal embedding model." {
		t.Fatalf("got %v", err)
	}
}
