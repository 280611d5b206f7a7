package bedrock

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

const countHaiku = "anthropic.claude-3-haiku-20240307-v1:0"

// countExchange answers CountTokens as Bedrock does.
func countExchange(status int, errorType, body string) exchange {
	ex := exchange{Response: replayResponse{Status: status, Headers: map[string]string{"Content-Type": "application/json", "X-Amzn-Requestid": "5d9e6b8a-0000-4000-8000-000000000001"}, Body: json.RawMessage(body)}}
	if errorType != "" {
		ex.Response.Headers["X-Amzn-Errortype"] = errorType
	}
	return ex
}

// The SDK's own CountTokens client is the oracle of the request: the
// provider must send what it sends (path, body), signed (the replay
// server verifies SigV4), and read the answer it reads.
func TestCountTokensSendsWhatTheSDKSends(t *testing.T) {
	native := []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":512,"system":"Answer briefly.","messages":[{"role":"user","content":"What is the capital of France?"}]}`)
	schema := `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`
	tests := []struct {
		name  string
		sdk   types.CountTokensInput
		count func(p *Provider) (int, error)
	}{
		{
			name: "converse",
			sdk: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{
				Messages: sdkMessages(),
				System:   []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "Answer briefly."}},
				ToolConfig: &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{
					Name: aws.String("get_weather"), Description: aws.String("Get the weather"),
					InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(schemaDoc(t, schema))},
				}}}},
				AdditionalModelRequestFields: document.NewLazyDocument(map[string]any{"top_k": 5}),
			}},
			count: func(p *Provider) (int, error) {
				req := chatRequest() // with inferenceConfig and requestMetadata, which the count form has no room for
				req.ToolConfig = &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{
					Name: "get_weather", Description: "Get the weather", InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(schema)}}}}}
				req.AdditionalModelRequestFields = json.RawMessage(`{"top_k":5}`)
				return p.CountTokens(t.Context(), provider.Call{UpstreamModel: countHaiku}, req)
			},
		},
		{
			name: "invokeModel",
			sdk:  &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: native}},
			count: func(p *Provider) (int, error) {
				return p.CountTokensNative(t.Context(), provider.Call{UpstreamModel: countHaiku}, native)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplay(t, countExchange(200, "", `{"inputTokens":27}`))
			out, err := sdkClient(rs.srv.URL).CountTokens(t.Context(), &bedrockruntime.CountTokensInput{ModelId: aws.String(countHaiku), Input: tt.sdk})
			if err != nil {
				t.Fatal(err)
			}
			n, err := tt.count(newTestProvider(t, rs.srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if n != 27 || aws.ToInt32(out.InputTokens) != 27 {
				t.Errorf("provider read %d, SDK read %d; want 27", n, aws.ToInt32(out.InputTokens))
			}
			got := rs.received()
			if len(got) != 2 {
				t.Fatalf("%d requests, want 2", len(got))
			}
			sdkReq, ours := got[0], got[1]
			if ours.Method != sdkReq.Method || ours.Path != sdkReq.Path || ours.Path != "/model/anthropic.claude-3-haiku-20240307-v1%3A0/count-tokens" {
				t.Errorf("provider sent %s %s, SDK %s %s", ours.Method, ours.Path, sdkReq.Method, sdkReq.Path)
			}
			if ct := ours.Header.Get("Content-Type"); ct != sdkReq.Header.Get("Content-Type") {
				t.Errorf("content-type %q, SDK %q", ct, sdkReq.Header.Get("Content-Type"))
			}
			assertJSONEqual(t, ours.Body, sdkReq.Body)
		})
	}
}

// schemaDoc is a JSON schema as the SDK's documents take it: decoded.
func schemaDoc(t *testing.T, s string) map[string]any {
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCountTokensAsksAboutTheBaseModel(t *testing.T) {
	for _, tt := range []struct{ upstream, wantPath string }{
		{"us." + countHaiku, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/count-tokens"},
		{"global." + countHaiku, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/count-tokens"},
		{"arn:aws:bedrock:us-west-2:123456789012:inference-profile/eu." + countHaiku, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/count-tokens"},
		{"arn:aws:bedrock:us-west-2::foundation-model/" + countHaiku, "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A%3Afoundation-model%2Fanthropic.claude-3-haiku-20240307-v1%3A0/count-tokens"},
		{"arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abcdefghijkl", "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Aapplication-inference-profile%2Fabcdefghijkl/count-tokens"},
	} {
		t.Run(tt.upstream, func(t *testing.T) {
			ex := countExchange(200, "", `{"inputTokens":3}`)
			ex.Request.Path = tt.wantPath
			rs := newReplay(t, ex)
			if _, err := newTestProvider(t, rs.srv.URL).CountTokens(t.Context(), provider.Call{UpstreamModel: tt.upstream}, chatRequest()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCountTokensErrors(t *testing.T) {
	for _, tt := range []struct {
		name      string
		status    int
		errorType string
		body      string
		wantCode  apierror.Code
		wantMsg   string
	}{
		{"unsupported model", 400, "ValidationException", `{"message":"The provided model doesn't support counting tokens."}`,
			apierror.Validation, "The provided model doesn't support counting tokens."},
		{"throttled", 429, "ThrottlingException", `{"message":"Too many requests, please wait before trying again."}`,
			apierror.Throttling, "Too many requests, please wait before trying again."},
		{"gateway lacks bedrock:CountTokens", 403, "AccessDeniedException",
			`{"message":"User: arn:aws:sts::123456789012:assumed-role/gw/x is not authorized to perform: bedrock:CountTokens"}`,
			apierror.ModelError, credentialsMessage},
		{"no count", 200, "", `{"tokens":3}`, apierror.ModelError, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := newReplay(t, countExchange(tt.status, tt.errorType, tt.body))
			_, err := newTestProvider(t, rs.srv.URL).CountTokens(t.Context(), provider.Call{UpstreamModel: countHaiku}, chatRequest())
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode {
				t.Fatalf("error %v, want %s", err, tt.wantCode)
			}
			if tt.wantMsg != "" && e.Message != tt.wantMsg {
				t.Errorf("message %q, want %q", e.Message, tt.wantMsg)
			}
		})
	}
}

func FuzzDecodeCount(f *testing.F) {
	for _, s := range []string{`{"inputTokens":27}`, `{"inputTokens":0}`, `{"inputTokens":-1}`, `{"inputTokens":"3"}`, `{}`, `null`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := decodeCount(data)
		if err == nil && n < 0 {
			t.Fatalf("decodeCount(%q) = %d", data, n)
		}
	})
}
