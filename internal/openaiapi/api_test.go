package openaiapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

// post sends a JSON body with the test API key.
func post(t *testing.T, e *env, path, body string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEmbeddings(t *testing.T) {
	e := newEnv(t, Options{})
	var httpResp *http.Response
	resp, err := e.client.Embeddings.New(context.Background(), oai.EmbeddingNewParams{
		Model:      modelEmbed,
		Input:      oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first text", "second text"}},
		Dimensions: oai.Int(256),
	}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	inv := e.rec.get(t, requestID(t, httpResp))
	if len(resp.Data) != 2 || resp.Model != modelEmbed || resp.Object != "list" {
		t.Fatalf("response %s", resp.RawJSON())
	}
	for i, d := range resp.Data {
		if d.Index != int64(i) || len(d.Embedding) != 256 {
			t.Errorf("embedding %d: index %d, %d dimensions", i, d.Index, len(d.Embedding))
		}
		var sum float64
		for _, x := range d.Embedding {
			sum += x * x
		}
		if math.Abs(math.Sqrt(sum)-1) > 1e-3 {
			t.Errorf("embedding %d has length %v, want 1 (normalized)", i, math.Sqrt(sum))
		}
	}
	if resp.Usage.PromptTokens != int64(inv.Usage.InputTokens) || inv.Usage.InputTokens == 0 {
		t.Errorf("usage %+v, recorded %+v", resp.Usage, inv.Usage)
	}
	if inv.Operation != invocation.Embeddings || inv.Status != 200 || string(inv.Output.Data) != resp.RawJSON() {
		t.Errorf("invocation %s status %d", inv.Operation, inv.Status)
	}

	// base64: little-endian float32, the same vector.
	raw := readAll(t, post(t, e, "/v1/embeddings", `{"model":"`+modelEmbed+`","input":"first text","dimensions":256,"encoding_format":"base64"}`))
	var b64 struct {
		Data []struct {
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(raw), &b64); err != nil || len(b64.Data) != 1 || b64.Data[0].Embedding[0] != '"' {
		t.Fatalf("base64 response %s", raw)
	}
	var v openai.Vector
	if err := json.Unmarshal(b64.Data[0].Embedding, &v); err != nil {
		t.Fatal(err)
	}
	for i, x := range v.Values {
		if x != float32(resp.Data[0].Embedding[i]) {
			t.Fatalf("base64 value %d = %v, float response %v", i, x, resp.Data[0].Embedding[i])
		}
	}

	// A chat model cannot embed.
	_, err = e.client.Embeddings.New(context.Background(), oai.EmbeddingNewParams{Model: modelHaiku,
		Input: oai.EmbeddingNewParamsInputUnion{OfString: oai.String("x")}})
	if apiErr := asAPIError(t, err, http.StatusBadRequest); apiErr.Param != "model" {
		t.Errorf("error %s", apiErr.RawJSON())
	}
}

func TestModels(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	page, err := e.client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		if m.Object != "model" || m.OwnedBy == "" || m.Created == 0 {
			t.Errorf("model %s", m.RawJSON())
		}
	}
	var want []string
	for _, m := range e.gw.Catalog().Models() {
		want = append(want, m.ID)
	}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("listed %v, want %v", ids, want)
	}
	for _, id := range []string{modelHaiku, "haiku", "us." + modelHaiku} {
		m, err := e.client.Models.Get(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if m.ID != id || m.OwnedBy != "anthropic" {
			t.Errorf("%s: got %s", id, m.RawJSON())
		}
	}
	_, err = e.client.Models.Get(ctx, "gpt-5")
	if apiErr := asAPIError(t, err, http.StatusNotFound); apiErr.Code != "model_not_found" {
		t.Errorf("error %s", apiErr.RawJSON())
	}
	bad := oai.NewClient(option.WithBaseURL(e.srv.URL+"/v1"), option.WithAPIKey("mw-wrong-key-0123456789abcdefghij"), option.WithMaxRetries(0))
	_, err = bad.Models.List(ctx)
	asAPIError(t, err, http.StatusUnauthorized)
	if e.rec.count() != 0 {
		t.Errorf("listing models recorded %d invocations", e.rec.count())
	}
}

// TestErrors checks the status, OpenAI error body and Invocation of
// requests that fail before or at the model.
func TestErrors(t *testing.T) {
	e := newEnv(t, Options{MaxRequestBytes: 4096})
	user := `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name     string
		path     string
		body     string
		headers  []string
		status   int
		typ      string
		code     string
		param    string
		recorded string // Invocation error code; "" for no Invocation
	}{
		{"bad API key", "/v1/chat/completions", `{"model":"haiku",` + user + `}`, []string{"Authorization", "Bearer mw-wrong-key-0123456789abcdefghij"},
			401, "authentication_error", "invalid_api_key", "", "UnrecognizedClientException"},
		{"no API key", "/v1/chat/completions", `{"model":"haiku",` + user + `}`, []string{"Authorization", ""},
			401, "authentication_error", "", "", "MissingAuthenticationTokenException"},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-4o",` + user + `}`, nil,
			404, "invalid_request_error", "model_not_found", "model", "ResourceNotFoundException"},
		{"invalid JSON", "/v1/chat/completions", `{"model":"haiku",`, nil,
			400, "invalid_request_error", "", "", "ValidationException"},
		{"wrong type", "/v1/chat/completions", `{"model":"haiku","messages":{"role":"user"}}`, nil,
			400, "invalid_request_error", "", "messages", "ValidationException"},
		{"n of 3", "/v1/chat/completions", `{"model":"haiku","n":3,` + user + `}`, nil,
			400, "invalid_request_error", "", "n", "ValidationException"},
		{"remote image", "/v1/chat/completions", `{"model":"haiku","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}`, nil,
			400, "invalid_request_error", "", "messages[0].content[0].image_url.url", "ValidationException"},
		{"too many tokens", "/v1/chat/completions", `{"model":"haiku","max_tokens":100000,` + user + `}`, nil,
			400, "invalid_request_error", "", "max_tokens", "ValidationException"},
		{"tools on a model without tools", "/v1/chat/completions", `{"model":"` + modelPlain + `","tools":[{"type":"function","function":{"name":"f"}}],` + user + `}`, nil,
			400, "invalid_request_error", "", "tools", "ValidationException"},
		{"stream on a model without streaming", "/v1/chat/completions", `{"model":"` + modelPlain + `","stream":true,` + user + `}`, nil,
			400, "invalid_request_error", "", "stream", "ValidationException"},
		{"embedding model for chat", "/v1/chat/completions", `{"model":"` + modelEmbed + `",` + user + `}`, nil,
			400, "invalid_request_error", "", "model", "ValidationException"},
		{"throttled", "/v1/chat/completions", `{"model":"` + modelThrottled + `",` + user + `}`, nil,
			429, "requests", "rate_limit_exceeded", "", "ThrottlingException"},
		{"token array input", "/v1/embeddings", `{"model":"` + modelEmbed + `","input":[1,2,3]}`, nil,
			400, "invalid_request_error", "", "input", "ValidationException"},
		{"body too large", "/v1/chat/completions", `{"model":"haiku","messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`, nil,
			400, "invalid_request_error", "request_too_large", "", "ValidationException"},
		{"unknown path", "/v1/completions", `{}`, nil, 404, "invalid_request_error", "unknown_url", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.rec.count()
			resp := post(t, e, tt.path, tt.body, tt.headers...)
			raw := readAll(t, resp)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, raw)
			}
			var body struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(raw), &body); err != nil || body.Error.Message == "" {
				t.Fatalf("body %q is not an OpenAI error", raw)
			}
			deref := func(s *string) string {
				if s == nil {
					return ""
				}
				return *s
			}
			if body.Error.Type != tt.typ || deref(body.Error.Code) != tt.code || deref(body.Error.Param) != tt.param {
				t.Errorf("error %s; want type %q code %q param %q", raw, tt.typ, tt.code, tt.param)
			}
			if strings.Contains(raw, testAPIKey) || strings.Contains(raw, "wrong-key") || strings.Contains(raw, "json:") {
				t.Errorf("error body leaks: %s", raw)
			}
			if tt.recorded == "" {
				if e.rec.count() != before {
					t.Error("a non-call request was recorded")
				}
				return
			}
			inv := e.rec.get(t, resp.Header.Get("x-request-id"))
			if inv.ErrorCode != tt.recorded || inv.Status != tt.status || string(inv.Output.Data) != raw {
				t.Errorf("recorded %q status %d output %s", inv.ErrorCode, inv.Status, inv.Output.Data)
			}
		})
	}

	// Errors reach openai-go callers as typed API errors.
	_, err := e.client.Chat.Completions.New(context.Background(), oai.ChatCompletionNewParams{Model: "gpt-4o",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")}})
	if apiErr := asAPIError(t, err, http.StatusNotFound); apiErr.Code != "model_not_found" || apiErr.Param != "model" {
		t.Errorf("error %s", apiErr.RawJSON())
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, Options{})
	resp, err := http.Get(e.srv.URL + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw := readAll(t, resp)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" || !strings.Contains(raw, "Invalid method") {
		t.Errorf("status %d allow %q body %s", resp.StatusCode, resp.Header.Get("Allow"), raw)
	}
}

// TestSigV4 shows a SigV4-signed request (as AWS tooling sends) is
// accepted too, with the principal recorded.
func TestSigV4(t *testing.T) {
	e := newEnv(t, Options{})
	body := []byte(`{"model":"haiku","messages":[{"role":"user","content":"hi"}]}`)
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "bedrock", testRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, raw)
	}
	inv := e.rec.get(t, resp.Header.Get("x-request-id"))
	if inv.AuthMethod != invocation.AuthSigV4 || inv.AccessKeyID != testAccessKey || inv.PrincipalName != "alice" {
		t.Errorf("recorded %s %s %s", inv.AuthMethod, inv.AccessKeyID, inv.PrincipalName)
	}

	// A tampered body fails the signature.
	tampered, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1/chat/completions", bytes.NewReader(body[:len(body)-1]))
	tampered.Header = req.Header.Clone()
	resp2, err := http.DefaultClient.Do(tampered)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	if raw := readAll(t, resp2); resp2.StatusCode != 401 || !strings.Contains(raw, "invalid_signature") {
		t.Errorf("tampered body: status %d %s", resp2.StatusCode, raw)
	}
}
