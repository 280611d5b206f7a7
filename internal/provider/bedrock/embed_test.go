package bedrock

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// embedServer fakes Bedrock's embedding models: it verifies each
// request's signature and path, records the bodies, and answers with
// vectors derived from the input so that order can be checked.
type embedServer struct {
	t      *testing.T
	srv    *httptest.Server
	answer func(w http.ResponseWriter, body []byte)

	mu     sync.Mutex
	bodies []string
}

func newEmbedServer(t *testing.T, model string, answer func(w http.ResponseWriter, body []byte)) *embedServer {
	es := &embedServer{t: t, answer: answer}
	wantPath := "/model/" + strings.ReplaceAll(model, ":", "%3A") + "/invoke"
	es.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifySigV4(r, body, testRegion); err != nil {
			t.Errorf("SigV4: %v", err)
		}
		if r.URL.EscapedPath() != wantPath {
			t.Errorf("path = %s, want %s", r.URL.EscapedPath(), wantPath)
		}
		es.mu.Lock()
		es.bodies = append(es.bodies, string(body))
		es.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		answer(w, body)
	}))
	t.Cleanup(es.srv.Close)
	return es
}

func (es *embedServer) recorded() []string {
	es.mu.Lock()
	defer es.mu.Unlock()
	return append([]string(nil), es.bodies...)
}

// titanAnswer answers like Titan Text Embeddings: the vector encodes the
// input's length, the token count is the number of words.
func titanAnswer(w http.ResponseWriter, body []byte) {
	var req struct {
		InputText string `json:"inputText"`
	}
	_ = json.Unmarshal(body, &req)
	words := len(strings.Fields(req.InputText))
	w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", fmt.Sprint(words))
	fmt.Fprintf(w, `{"embedding":[%d,3,4],"inputTextTokenCount":%d}`, len(req.InputText), words)
}

func TestEmbedTitanV2(t *testing.T) {
	const model = "amazon.titan-embed-text-v2:0"
	es := newEmbedServer(t, model, titanAnswer)
	p := newTestProvider(t, es.srv.URL)
	inputs := make([]string, 20)
	for i := range inputs {
		inputs[i] = strings.Repeat("word ", i+1)
	}
	resp, err := p.Embed(t.Context(), provider.Call{UpstreamModel: model}, &provider.EmbedRequest{Inputs: inputs, Dimensions: 256, Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != len(inputs) {
		t.Fatalf("%d embeddings for %d inputs", len(resp.Embeddings), len(inputs))
	}
	for i, v := range resp.Embeddings {
		if int(v[0]) != len(inputs[i]) {
			t.Errorf("embedding %d belongs to another input (%v)", i, v)
		}
	}
	if want := 20 * 21 / 2; resp.InputTokens != want {
		t.Errorf("input tokens = %d, want the sum %d", resp.InputTokens, want)
	}
	bodies := es.recorded()
	if len(bodies) != len(inputs) {
		t.Fatalf("%d calls, want one per input", len(bodies))
	}
	for _, b := range bodies {
		var req map[string]any
		if err := json.Unmarshal([]byte(b), &req); err != nil {
			t.Fatal(err)
		}
		if req["dimensions"] != 256.0 || req["normalize"] != true || len(req) != 3 {
			t.Errorf("body = %s, want inputText, dimensions and normalize", b)
		}
	}
}

func TestEmbedTitanV1(t *testing.T) {
	const model = "amazon.titan-embed-text-v1"
	es := newEmbedServer(t, model, titanAnswer)
	p := newTestProvider(t, es.srv.URL)
	resp, err := p.Embed(t.Context(), provider.Call{UpstreamModel: model}, &provider.EmbedRequest{Inputs: []string{"hello"}, Dimensions: 1536, Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if b := es.recorded(); len(b) != 1 || b[0] != `{"inputText":"hello"}` {
		t.Errorf("bodies = %q; G1 takes inputText only", b)
	}
	// G1 cannot normalise: the provider does.
	var sum float64
	for _, x := range resp.Embeddings[0] {
		sum += float64(x) * float64(x)
	}
	if math.Abs(sum-1) > 1e-5 {
		t.Errorf("embedding %v is not unit length", resp.Embeddings[0])
	}
	if resp.InputTokens != 1 {
		t.Errorf("input tokens = %d", resp.InputTokens)
	}

	_, err = p.Embed(t.Context(), provider.Call{UpstreamModel: model}, &provider.EmbedRequest{Inputs: []string{"hello"}, Dimensions: 256})
	if e := asAPIError(t, err); e.Code != apierror.Validation {
		t.Errorf("256 dimensions from G1: %v, want ValidationException", e)
	}
}

func TestEmbedCohere(t *testing.T) {
	tests := []struct {
		model    string
		wantBody func(t *testing.T, req map[string]any)
		byType   bool
	}{
		{"cohere.embed-english-v3", func(t *testing.T, req map[string]any) {
			if len(req) != 2 || req["input_type"] != "search_document" {
				t.Errorf("v3 body %v, want texts and input_type", req)
			}
		}, false},
		{"us.cohere.embed-v4:0", func(t *testing.T, req map[string]any) {
			if req["output_dimension"] != 512.0 || fmt.Sprint(req["embedding_types"]) != "[float]" {
				t.Errorf("v4 body %v, want output_dimension and embedding_types", req)
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			es := newEmbedServer(t, tt.model, func(w http.ResponseWriter, body []byte) {
				var req struct {
					Texts []string `json:"texts"`
				}
				_ = json.Unmarshal(body, &req)
				vecs := make([][]float32, len(req.Texts))
				for i, s := range req.Texts {
					vecs[i] = []float32{float32(len(s)), 1}
				}
				var emb any = vecs
				if tt.byType {
					emb = map[string]any{"float": vecs}
				}
				w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", fmt.Sprint(len(req.Texts)))
				_ = json.NewEncoder(w).Encode(map[string]any{"id": "x", "embeddings": emb, "texts": req.Texts})
			})
			p := newTestProvider(t, es.srv.URL)
			inputs := make([]string, 100) // two batches: 96 and 4
			for i := range inputs {
				inputs[i] = strings.Repeat("x", i+1)
			}
			dims := 0
			if tt.byType {
				dims = 512
			}
			resp, err := p.Embed(t.Context(), provider.Call{UpstreamModel: tt.model}, &provider.EmbedRequest{Inputs: inputs, Dimensions: dims})
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range resp.Embeddings {
				if int(v[0]) != i+1 {
					t.Fatalf("embedding %d belongs to another input (%v)", i, v)
				}
			}
			if resp.InputTokens != 100 {
				t.Errorf("input tokens = %d, want 100 (summed over batches)", resp.InputTokens)
			}
			bodies := es.recorded()
			if len(bodies) != 2 {
				t.Fatalf("%d calls, want 2 batches", len(bodies))
			}
			for _, b := range bodies {
				var req map[string]any
				if err := json.Unmarshal([]byte(b), &req); err != nil {
					t.Fatal(err)
				}
				tt.wantBody(t, req)
			}
		})
	}
}

func TestEmbedFailures(t *testing.T) {
	throttleOnThird := func(w http.ResponseWriter, body []byte) {
		if strings.Contains(string(body), `"third"`) {
			w.Header().Set("x-amzn-ErrorType", "ThrottlingException")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"message":"Too many requests, please wait before trying again."}`)
			return
		}
		titanAnswer(w, body)
	}
	tests := []struct {
		name   string
		model  string
		req    *provider.EmbedRequest
		answer func(w http.ResponseWriter, body []byte)
		want   apierror.Code
	}{
		{"no inputs", "amazon.titan-embed-text-v2:0", &provider.EmbedRequest{}, titanAnswer, apierror.Validation},
		{"nil request", "amazon.titan-embed-text-v2:0", nil, titanAnswer, apierror.Validation},
		{"negative dimensions", "amazon.titan-embed-text-v2:0", &provider.EmbedRequest{Inputs: []string{"a"}, Dimensions: -1}, titanAnswer, apierror.Validation},
		{"not an embedding model", "anthropic.claude-3-haiku-20240307-v1:0", &provider.EmbedRequest{Inputs: []string{"a"}}, titanAnswer, apierror.Validation},
		{"cohere v3 dimensions", "cohere.embed-english-v3", &provider.EmbedRequest{Inputs: []string{"a"}, Dimensions: 256}, titanAnswer, apierror.Validation},
		{"one call throttled", "amazon.titan-embed-text-v2:0", &provider.EmbedRequest{Inputs: []string{"first", "second", "third", "fourth"}}, throttleOnThird, apierror.Throttling},
		{"empty embedding", "amazon.titan-embed-text-v2:0", &provider.EmbedRequest{Inputs: []string{"a"}},
			func(w http.ResponseWriter, _ []byte) { io.WriteString(w, `{"embedding":[],"inputTextTokenCount":1}`) }, apierror.ModelError},
		{"not JSON", "amazon.titan-embed-text-v2:0", &provider.EmbedRequest{Inputs: []string{"a"}},
			func(w http.ResponseWriter, _ []byte) { io.WriteString(w, `<html>`) }, apierror.ModelError},
		{"cohere count mismatch", "cohere.embed-english-v3", &provider.EmbedRequest{Inputs: []string{"a", "b"}},
			func(w http.ResponseWriter, _ []byte) { io.WriteString(w, `{"embeddings":[[1,2]]}`) }, apierror.ModelError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := newEmbedServer(t, tt.model, tt.answer)
			p := newTestProvider(t, es.srv.URL)
			_, err := p.Embed(t.Context(), provider.Call{UpstreamModel: tt.model}, tt.req)
			if e := asAPIError(t, err); e.Code != tt.want {
				t.Errorf("error = %+v, want %s", e, tt.want)
			}
		})
	}
}
