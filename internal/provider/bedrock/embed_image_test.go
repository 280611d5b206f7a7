package bedrock

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// An image input as the codecs hand it over (the bytes need not decode:
// the upstream judges them).
var testEmbedImage = provider.EmbedImage{Format: "png", Data: []byte("\x89PNG\r\n\x1a\nfake"), Width: 2, Height: 2}

func TestEmbedTitanMultimodalImage(t *testing.T) {
	const model = "amazon.titan-embed-image-v1"
	es := newEmbedServer(t, model, func(w http.ResponseWriter, body []byte) {
		fmt.Fprint(w, `{"embedding":[0.6,0.8],"inputTextTokenCount":2,"message":null}`)
	})
	p := newTestProvider(t, es.srv.URL)
	req := &provider.EmbedRequest{Inputs: []string{"a cat", ""}, Images: [][]provider.EmbedImage{{testEmbedImage}, {testEmbedImage}}, Dimensions: 256}
	resp, err := p.Embed(t.Context(), provider.Call{UpstreamModel: model}, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.InputImages != 2 || resp.InputTokens != 4 || len(resp.Embeddings) != 2 {
		t.Errorf("response %+v", resp)
	}
	img := base64.StdEncoding.EncodeToString(testEmbedImage.Data)
	want := map[string]bool{
		`{"inputText":"a cat","inputImage":"` + img + `","embeddingConfig":{"outputEmbeddingLength":256}}`: true,
		`{"inputImage":"` + img + `","embeddingConfig":{"outputEmbeddingLength":256}}`:                     true,
	}
	for _, b := range es.recorded() {
		if !want[b] {
			t.Errorf("unexpected body %s", b)
		}
	}
	two := &provider.EmbedRequest{Inputs: []string{""}, Images: [][]provider.EmbedImage{{testEmbedImage, testEmbedImage}}}
	if _, err := p.Embed(t.Context(), provider.Call{UpstreamModel: model}, two); asAPIError(t, err).Code != apierror.Validation {
		t.Errorf("two images in one input: %v", err)
	}
}

func TestEmbedCohereV4Images(t *testing.T) {
	const model = "cohere.embed-v4:0"
	es := newEmbedServer(t, model, func(w http.ResponseWriter, body []byte) {
		w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", "3")
		fmt.Fprint(w, `{"id":"x","embeddings":{"float":[[1,0],[0,1]]},"texts":[],"response_type":"embeddings_by_type"}`)
	})
	p := newTestProvider(t, es.srv.URL)
	req := &provider.EmbedRequest{Inputs: []string{"red", ""}, Images: [][]provider.EmbedImage{{testEmbedImage}, {testEmbedImage}},
		InputType: provider.EmbedClustering, Truncate: provider.TruncateEnd}
	resp, err := p.Embed(t.Context(), provider.Call{UpstreamModel: model}, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.InputImages != 2 || resp.InputTokens != 3 {
		t.Errorf("response %+v", resp)
	}
	var body struct {
		Texts     []string `json:"texts"`
		InputType string   `json:"input_type"`
		Truncate  string   `json:"truncate"`
		Inputs    []struct {
			Content []map[string]string `json:"content"`
		} `json:"inputs"`
	}
	b := es.recorded()
	if err := json.Unmarshal([]byte(b[0]), &body); err != nil {
		t.Fatal(err)
	}
	uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(testEmbedImage.Data)
	if body.Texts != nil || body.InputType != "clustering" || body.Truncate != "RIGHT" || len(body.Inputs) != 2 ||
		len(body.Inputs[0].Content) != 2 || body.Inputs[0].Content[0]["text"] != "red" || body.Inputs[0].Content[1]["image_url"] != uri ||
		len(body.Inputs[1].Content) != 1 || body.Inputs[1].Content[0]["type"] != "image_url" {
		t.Errorf("body %s", b[0])
	}
}

func TestEmbedImagesRefused(t *testing.T) {
	p := newTestProvider(t, "http://127.0.0.1:1")
	req := &provider.EmbedRequest{Inputs: []string{""}, Images: [][]provider.EmbedImage{{testEmbedImage}}}
	for _, model := range []string{"amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"} {
		_, err := p.Embed(t.Context(), provider.Call{UpstreamModel: model}, req)
		if e := asAPIError(t, err); e.Code != apierror.Validation || e.Message != "The Bedrock ("+model+") provider embeds text only; this request has 1 image input(s). Route image embeddings to a multimodal embedding model." {
			t.Errorf("%s: %v", model, e)
		}
	}
}
