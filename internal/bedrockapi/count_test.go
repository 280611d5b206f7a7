package bedrockapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
)

const (
	testHaiku = "anthropic.claude-3-haiku-20240307-v1:0"
	testEmbed = "amazon.titan-embed-text-v2:0"
	testApp   = "arn:aws:bedrock:us-east-1:000000000000:application-inference-profile/a1b2c3d4e5f6"
)

// records keeps every Invocation the gateway hands its observers.
type records struct {
	mu   sync.Mutex
	invs []*invocation.Invocation
}

func (r *records) Observe(inv *invocation.Invocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invs = append(r.invs, inv)
}

func (r *records) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.invs)
}

// testServer is the Bedrock front door over a real gateway, anonymous
// authentication (loopback, no principals) and the simulator.
func testServer(t *testing.T) (*httptest.Server, *records) {
	t.Helper()
	cat, err := catalog.New("us-east-1", "000000000000", []*catalog.Model{
		{ID: testHaiku, Name: "Claude 3 Haiku", Family: "anthropic", Provider: "simulator", Aliases: []string{testApp},
			InputModalities: []string{"TEXT"}, OutputModalities: []string{"TEXT"}, Tools: true, SystemPrompt: true,
			MaxOutputTokens: 4096, DefaultMaxTokens: 512, Timeout: time.Minute},
		{ID: testEmbed, Name: "Titan Text Embeddings V2", Family: "titan-embed", Provider: "simulator",
			InputModalities: []string{"TEXT"}, OutputModalities: []string{"EMBEDDING"}, Timeout: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(nil, auth.Options{AccountID: "000000000000", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	rec := &records{}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw, err := gateway.New(gateway.Options{Catalog: cat, Auth: authn, Logger: logger, Observers: []invocation.Observer{rec},
		Providers: map[string]provider.Provider{"simulator": simulator.New(nil, simulator.Options{})}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(gw, Options{MaxRequestBytes: 1 << 20, Region: "us-east-1", Logger: logger}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func runtimeSDK(url string) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
}

func TestCountTokensIsTheConverseInputAndLeavesNoRecord(t *testing.T) {
	srv, rec := testServer(t)
	client := runtimeSDK(srv.URL)
	msgs := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Tell me about the tides of the Atlantic."}}}}
	system := []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "Answer in one sentence."}}
	conv, err := client.Converse(t.Context(), &bedrockruntime.ConverseInput{ModelId: aws.String(testHaiku), Messages: msgs, System: system})
	if err != nil {
		t.Fatal(err)
	}
	records := rec.count()
	for _, id := range []string{testHaiku, "us." + testHaiku, "global." + testHaiku, testApp} {
		out, err := client.CountTokens(t.Context(), &bedrockruntime.CountTokensInput{ModelId: aws.String(id),
			Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: msgs, System: system}}})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if got, want := aws.ToInt32(out.InputTokens), aws.ToInt32(conv.Usage.InputTokens); got != want {
			t.Errorf("%s: CountTokens %d, Converse's inputTokens %d", id, got, want)
		}
	}
	if rec.count() != records {
		t.Errorf("CountTokens produced %d invocation records, want none", rec.count()-records)
	}

	_, err = client.CountTokens(t.Context(), &bedrockruntime.CountTokensInput{ModelId: aws.String(testEmbed),
		Input: &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: []byte(`{"inputText":"hi"}`)}}})
	var ve *types.ValidationException
	if !errors.As(err, &ve) || ve.ErrorMessage() != "The provided model doesn't support counting tokens." {
		t.Errorf("embedding model: %v", err)
	}
}

func TestDecodeCountInput(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tt := range []struct {
		name, body string
		native     string // the decoded native body, for the invokeModel form
		converse   bool
		err        string // "" = accepted
	}{
		{name: "invokeModel", body: `{"input":{"invokeModel":{"body":"` + b64(`{"inputText":"hi"}`) + `"}}}`, native: `{"inputText":"hi"}`},
		{name: "converse", body: `{"input":{"converse":{"messages":[{"role":"user","content":[{"text":"hi"}]}],"system":[{"text":"s"}]}}}`, converse: true},
		{name: "converse ignores members it does not have", body: `{"input":{"converse":{"messages":[],"inferenceConfig":{"maxTokens":0}}}}`, converse: true},
		{name: "null member is unset", body: `{"input":{"invokeModel":null,"converse":{"messages":[]}}}`, converse: true},
		{name: "empty native body", body: `{"input":{"invokeModel":{"body":""}}}`, native: ``},
		{name: "no body", body: ``, err: "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null"},
		{name: "no input", body: `{"other":1}`, err: "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null"},
		{name: "no form", body: `{"input":{}}`, err: "The CountTokensInput object at input has no supported member set. Set exactly one member and try again."},
		{name: "two forms", body: `{"input":{"invokeModel":{"body":""},"converse":{}}}`, err: "The CountTokensInput object at input has 2 members set, but it is a union. Set exactly one member and try again."},
		{name: "native body missing", body: `{"input":{"invokeModel":{}}}`, err: "1 validation error detected: Value null at 'input.invokeModel.body' failed to satisfy constraint: Member must not be null"},
		{name: "native body not base64", body: `{"input":{"invokeModel":{"body":"%%%"}}}`, err: "Malformed request: the value at 'input.invokeModel.body' is not valid base64."},
		{name: "messages of the wrong type", body: `{"input":{"converse":{"messages":"hi"}}}`, err: "Malformed request: the value at 'input.converse.messages' has the wrong type (found a JSON string)."},
		{name: "not JSON", body: `{"input"`, err: "Malformed request: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, err := decodeCountInput([]byte(tt.body))
			if tt.err != "" {
				var e *apierror.Error
				if !errors.As(err, &e) || e.Code != apierror.Validation || !strings.HasPrefix(e.Message, tt.err) {
					t.Fatalf("error %v, want ValidationException: %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.converse != (in.converse != nil) || (!tt.converse && string(in.native) != tt.native) {
				t.Errorf("decoded %+v", in)
			}
		})
	}
}

func TestDecodeCountInputRefusesBodiesOver25MB(t *testing.T) {
	body := `{"input":{"invokeModel":{"body":"` + base64.StdEncoding.EncodeToString(make([]byte, maxNativeBody+1)) + `"}}}`
	_, err := decodeCountInput([]byte(body))
	var e *apierror.Error
	const want = "1 validation error detected: Value at 'input.invokeModel.body' failed to satisfy constraint: Member must have length less than or equal to 25000000"
	if !errors.As(err, &e) || e.Message != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

func TestCheckCountModelID(t *testing.T) {
	for _, tt := range []struct{ id, err string }{
		{testHaiku, ""},
		{"us." + testHaiku, ""},
		{"arn:aws:bedrock:us-east-1:000000000000:application-inference-profile/a1b2c3d4e5f6", ""},
		{strings.Repeat("a", 256), ""},
		{"", "1 validation error detected: Value '' at 'modelId' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{strings.Repeat("a", 257), "failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"claude 3", `1 validation error detected: Value 'claude 3' at 'modelId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z_\.\-/0-9:]+`},
		{"model+1", `Member must satisfy regular expression pattern`},
	} {
		err := checkCountModelID(tt.id)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%q refused: %v", tt.id, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: %v, want %s", tt.id, err, tt.err)
		}
	}
}

func TestNativeForCountingFillsOnlyAMissingAnthropicBudget(t *testing.T) {
	claude := &catalog.Model{ID: testHaiku, Family: "anthropic", MaxOutputTokens: 4096}
	llama := &catalog.Model{ID: "meta.llama3-8b-instruct-v1:0", Family: "llama"}
	for _, tt := range []struct {
		name  string
		model *catalog.Model
		body  string
		want  map[string]any // nil = unchanged
	}{
		{"anthropic without max_tokens", claude, `{"anthropic_version":"bedrock-2023-05-31","messages":[]}`,
			map[string]any{"anthropic_version": "bedrock-2023-05-31", "messages": []any{}, "max_tokens": 4096.0}},
		{"anthropic with max_tokens", claude, `{"max_tokens":7,"messages":[]}`, nil},
		{"anthropic not an object", claude, `[1,2]`, nil},
		{"anthropic not JSON", claude, `{"max`, nil},
		{"other family", llama, `{"prompt":"hi"}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := nativeForCounting(tt.model, []byte(tt.body))
			if tt.want == nil {
				if string(got) != tt.body {
					t.Errorf("changed to %s", got)
				}
				return
			}
			var m map[string]any
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatal(err)
			}
			if b, _ := json.Marshal(m); string(b) != mustJSON(t, tt.want) {
				t.Errorf("got %s, want %s", b, mustJSON(t, tt.want))
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func FuzzDecodeCountInput(f *testing.F) {
	for _, s := range []string{
		`{"input":{"invokeModel":{"body":"e30="}}}`,
		`{"input":{"converse":{"messages":[{"role":"user","content":[{"text":"hi"}]}]}}}`,
		`{"input":{"converse":{"additionalModelRequestFields":null}}}`,
		`{"input":{}}`, `{"input":null}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeCountInput(body)
		if err != nil {
			var e *apierror.Error
			if !errors.As(err, &e) || e.Code != apierror.Validation {
				t.Fatalf("error %v is not a ValidationException", err)
			}
			return
		}
		if (in.native == nil) == (in.converse == nil) {
			t.Fatalf("decoded %+v: exactly one form expected", in)
		}
		if in.converse != nil {
			// What Converse's validation makes of it must be an answer
			// in Bedrock's shape, never a panic.
			if err := in.converse.Validate(); err != nil {
				var e *apierror.Error
				if !errors.As(err, &e) {
					t.Fatalf("Validate: %v", err)
				}
			}
		}
	})
}
