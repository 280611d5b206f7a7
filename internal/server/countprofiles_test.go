package server_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
)

const (
	sonnetV2   = "anthropic.claude-3-5-sonnet-20241022-v2:0"
	appProfile = "arn:aws:bedrock:us-east-1:000000000000:application-inference-profile/a1b2c3d4e5f6"
)

// countConversation is a Converse input with every member the count form
// has: messages over several turns, a system prompt and a tool.
func countConversation() (msgs []types.Message, system []types.SystemContentBlock, tools *types.ToolConfiguration) {
	msgs = []types.Message{
		{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("What is the weather in Paris today?")}},
		{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{text("Let me look that up for you.")}},
		{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Please be quick, and answer in French.")}},
	}
	system = []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "You are a terse weather assistant."}}
	var schema map[string]any
	_ = json.Unmarshal([]byte(`{"type":"object","properties":{"city":{"type":"string","description":"The city"}},"required":["city"]}`), &schema)
	tools = &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{
		Name: aws.String("get_weather"), Description: aws.String("Returns the current weather of a city"),
		InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(schema)},
	}}}}
	return msgs, system, tools
}

func countTokens(t *testing.T, client *bedrockruntime.Client, model string, in types.CountTokensInput) int {
	t.Helper()
	out, err := client.CountTokens(t.Context(), &bedrockruntime.CountTokensInput{ModelId: aws.String(model), Input: in})
	if err != nil {
		t.Fatalf("CountTokens(%s): %v", model, err)
	}
	requestID(t, out.ResultMetadata)
	return int(aws.ToInt32(out.InputTokens))
}

func invokeInputTokens(t *testing.T, client *bedrockruntime.Client, model string, body []byte) int {
	t.Helper()
	out, err := client.InvokeModel(t.Context(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(model), Body: body, ContentType: aws.String("application/json")})
	if err != nil {
		t.Fatalf("InvokeModel(%s): %v", model, err)
	}
	n, err := strconv.Atoi(rawHeader(t, out.ResultMetadata, "X-Amzn-Bedrock-Input-Token-Count"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The count the SDK reads is the input tokens the same request is billed
// for: Converse's usage for the converse form, InvokeModel's input token
// header for the invokeModel form, for every way of naming the model.
func TestCountTokensEqualsTheCallsInputTokens(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	msgs, system, tools := countConversation()

	conv, err := client.Converse(t.Context(), &bedrockruntime.ConverseInput{ModelId: aws.String(haiku), Messages: msgs, System: system, ToolConfig: tools})
	if err != nil {
		t.Fatal(err)
	}
	u := conv.Usage
	billed := int(aws.ToInt32(u.InputTokens) + aws.ToInt32(u.CacheReadInputTokens) + aws.ToInt32(u.CacheWriteInputTokens))
	recorded := rec.count()

	for _, id := range []string{haiku, "us." + haiku, "global." + haiku,
		"arn:aws:bedrock:us-east-1::foundation-model/" + haiku,
		"arn:aws:bedrock:us-east-1:000000000000:inference-profile/us." + haiku} {
		got := countTokens(t, client, id, &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: msgs, System: system, ToolConfig: tools}})
		if got != billed || got == 0 {
			t.Errorf("converse form on %s: CountTokens %d, Converse billed %d input tokens", id, got, billed)
		}
	}

	native := map[string]string{
		haiku:                          `{"anthropic_version":"bedrock-2023-05-31","max_tokens":200,"system":"Be terse.","messages":[{"role":"user","content":"What is the weather in Paris?"},{"role":"assistant","content":"Sunny."},{"role":"user","content":"And tomorrow?"}]}`,
		"amazon.nova-lite-v1:0":        `{"schemaVersion":"messages-v1","system":[{"text":"Be terse."}],"messages":[{"role":"user","content":[{"text":"What is the weather in Paris?"}]}],"inferenceConfig":{"maxTokens":100}}`,
		"meta.llama3-8b-instruct-v1:0": `{"prompt":"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is the weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n","max_gen_len":64}`,
		"amazon.titan-text-express-v1": `{"inputText":"What is the weather in Paris?","textGenerationConfig":{"maxTokenCount":50}}`,
	}
	for model, body := range native {
		recordedBefore := rec.count()
		got := countTokens(t, client, model, &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: []byte(body)}})
		if rec.count() != recordedBefore {
			t.Errorf("%s: CountTokens produced an invocation record", model)
		}
		if want := invokeInputTokens(t, client, model, []byte(body)); got != want || got == 0 {
			t.Errorf("invokeModel form on %s: CountTokens %d, InvokeModel billed %d", model, got, want)
		}
	}

	// What the Anthropic SDKs send: count_tokens' parameters, without
	// max_tokens; thinking, so a model that thinks (Claude 3 Haiku refuses
	// it, as Bedrock does).
	const thinker = "anthropic.claude-haiku-4-5-20251001-v1:0"
	withMax := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":300,"messages":[{"role":"user","content":"Count me."}],"thinking":{"type":"enabled","budget_tokens":2000}}`
	without := `{"anthropic_version":"bedrock-2023-05-31","messages":[{"role":"user","content":"Count me."}],"thinking":{"type":"enabled","budget_tokens":2000}}`
	a := countTokens(t, client, "us."+thinker, &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: []byte(without)}})
	b := invokeInputTokens(t, client, thinker, []byte(strings.Replace(withMax, `"max_tokens":300`, `"max_tokens":3000`, 1)))
	if a != b {
		t.Errorf("a body without max_tokens counts %d, the call with one bills %d", a, b)
	}

	if got := rec.count() - recorded; got != len(native)+1 {
		t.Errorf("%d invocation records for %d InvokeModel calls: CountTokens must produce none", got, len(native)+1)
	}
}

// codeAndMessage returns the SDK error's code and message.
func codeAndMessage(t *testing.T, err error) (string, string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

func TestCountTokensErrorsInBedrocksShapes(t *testing.T) {
	srv, _ := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	msgs, _, _ := countConversation()
	converseIn := func(m []types.Message) types.CountTokensInput {
		return &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: m}}
	}
	nativeIn := func(body string) types.CountTokensInput {
		return &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: []byte(body)}}
	}
	for _, tt := range []struct {
		name, model string
		in          types.CountTokensInput
		code, msg   string
	}{
		{"unknown model", "anthropic.claude-9-v1:0", converseIn(msgs), "ValidationException", "The provided model identifier is invalid."},
		{"geography of another region", "eu." + haiku, converseIn(msgs), "ValidationException", "The provided model identifier is invalid."},
		{"missing provisioned model", "arn:aws:bedrock:us-east-1:000000000000:provisioned-model/abc", converseIn(msgs), "ResourceNotFoundException", ""},
		{"embedding model", "amazon.titan-embed-text-v2:0", nativeIn(`{"inputText":"hi"}`), "ValidationException", "The provided model doesn't support counting tokens."},
		{"model ID too long", strings.Repeat("a", 257), converseIn(msgs), "ValidationException", ""},
		{"empty conversation", haiku, converseIn(nil), "ValidationException",
			"A conversation must start with a user message. Try again with a conversation that starts with a user message."},
		{"roles do not alternate", haiku, converseIn([]types.Message{msgs[0], msgs[0]}), "ValidationException",
			"A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."},
		{"native body missing messages", haiku, nativeIn(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":10}`), "ValidationException", ""},
		{"native body over the model's output limit", haiku, nativeIn(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":5000,"messages":[{"role":"user","content":"hi"}]}`),
			"ValidationException", "max_tokens: 5000 > 4096, which is the maximum allowed number of output tokens for claude-3-haiku-20240307"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.CountTokens(t.Context(), &bedrockruntime.CountTokensInput{ModelId: aws.String(tt.model), Input: tt.in})
			code, msg := codeAndMessage(t, err)
			if code != tt.code || (tt.msg != "" && msg != tt.msg) {
				t.Errorf("%s: %s, want %s: %s", code, msg, tt.code, tt.msg)
			}
		})
	}
	if _, err := client.CountTokens(t.Context(), &bedrockruntime.CountTokensInput{ModelId: aws.String(strings.Repeat("a", 257)), Input: converseIn(msgs)}); err != nil {
		if _, msg := codeAndMessage(t, err); !strings.HasSuffix(msg, "at 'modelId' failed to satisfy constraint: Member must have length less than or equal to 256") {
			t.Errorf("long model ID: %s", msg)
		}
	}

	// Bodies the SDK cannot produce.
	raw := func(model, body string) (int, string, string) {
		resp, err := http.Post(srv.URL()+"/model/"+url.PathEscape(model)+"/count-tokens", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct{ Message string }
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &e)
		return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), e.Message
	}
	for _, tt := range []struct{ name, model, body, msg string }{
		{"no input", haiku, `{}`, "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null"},
		{"empty body", haiku, ``, "1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null"},
		{"no form", haiku, `{"input":{}}`, "The CountTokensInput object at input has no supported member set. Set exactly one member and try again."},
		{"both forms", haiku, `{"input":{"invokeModel":{"body":"e30="},"converse":{"messages":[]}}}`,
			"The CountTokensInput object at input has 2 members set, but it is a union. Set exactly one member and try again."},
		{"no native body", haiku, `{"input":{"invokeModel":{}}}`,
			"1 validation error detected: Value null at 'input.invokeModel.body' failed to satisfy constraint: Member must not be null"},
		{"body not base64", haiku, `{"input":{"invokeModel":{"body":"not base64!"}}}`, "Malformed request: the value at 'input.invokeModel.body' is not valid base64."},
		{"not JSON", haiku, `{"input":`, ""},
		{"model ID pattern", "anthropic claude", `{"input":{"converse":{"messages":[]}}}`,
			"1 validation error detected: Value 'anthropic claude' at 'modelId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z_\\.\\-/0-9:]+"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, typ, msg := raw(tt.model, tt.body)
			if status != 400 || typ != "ValidationException" || (tt.msg != "" && msg != tt.msg) {
				t.Errorf("%d %s: %q, want 400 ValidationException: %q", status, typ, msg, tt.msg)
			}
		})
	}
}

func TestCountTokensNeedsItsGrant(t *testing.T) {
	srv, _, _ := startTeam(t)
	msgs, _, _ := countConversation()
	in := &bedrockruntime.CountTokensInput{ModelId: aws.String("us." + haiku), Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: msgs}}}
	if _, err := runtimeClient(srv.URL(), aliceKeyID, aliceSecret).CountTokens(t.Context(), in); err != nil {
		t.Errorf("the default grants refuse CountTokens: %v", err)
	}
	// streamer holds bedrock:InvokeModel only.
	_, err := runtimeClient(srv.URL(), streamerKeyID, streamerSecret).CountTokens(t.Context(), in)
	var denied *types.AccessDeniedException
	const want = "User: arn:aws:iam::000000000000:user/streamer is not authorized to perform: bedrock:CountTokens on resource: arn:aws:bedrock:us-east-1::foundation-model/" + haiku + " because no identity-based policy allows the bedrock:CountTokens action"
	if !errors.As(err, &denied) || denied.ErrorMessage() != want {
		t.Errorf("streamer: %v, want AccessDeniedException: %s", err, want)
	}
	_, err = runtimeClient(srv.URL(), aliceKeyID, "wrong-secret").CountTokens(t.Context(), in)
	if code, _ := codeAndMessage(t, err); code != "InvalidSignatureException" {
		t.Errorf("bad signature: %s", code)
	}
}

// countUpstream is an Anthropic API whose count_tokens answers 42 and
// keeps the bodies it received.
func countUpstream(t *testing.T) (*httptest.Server, func() []map[string]any) {
	var mu sync.Mutex
	var bodies []map[string]any
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/messages/count_tokens" || r.Header.Get("x-api-key") != "sk-ant-test" {
			http.Error(w, `{"type":"error","error":{"type":"not_found_error","message":"no"}}`, http.StatusNotFound)
			return
		}
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		bodies = append(bodies, m)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"input_tokens":42}`)
	}))
	t.Cleanup(up.Close)
	return up, func() []map[string]any { mu.Lock(); defer mu.Unlock(); return bodies }
}

func TestCountTokensByProvider(t *testing.T) {
	up, received := countUpstream(t)
	t.Setenv("TEST_ANTHROPIC_KEY", "sk-ant-test")
	// gpt is a Llama served by an OpenAI-compatible server (Ollama, vLLM).
	const claude, gpt = "anthropic.claude-sonnet-4-5-20250929-v1:0", "meta.llama3-3-70b-instruct-v1:0"
	srv, _ := startServer(t, func(c *config.Config) {
		c.Providers = append(c.Providers,
			config.Provider{Name: "anthropic", Type: "anthropic", Settings: map[string]any{"baseURL": up.URL, "apiKeyEnv": "TEST_ANTHROPIC_KEY"}},
			config.Provider{Name: "openai", Type: "openai", Settings: map[string]any{"baseURL": up.URL}})
		setModels(c,
			config.Model{Model: catalog.Model{ID: claude, Provider: "anthropic", UpstreamModel: "claude-sonnet-4-5-20250929", MaxOutputTokens: 8192, Tools: true, SystemPrompt: true}},
			config.Model{Model: catalog.Model{ID: gpt, Provider: "openai", UpstreamModel: "llama3.3:70b", MaxOutputTokens: 4096, Tools: true, SystemPrompt: true}})
	})
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	msgs, system, tools := countConversation()

	t.Run("anthropic counts with count_tokens", func(t *testing.T) {
		n := countTokens(t, client, "global."+claude, &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: msgs, System: system, ToolConfig: tools}})
		m := countTokens(t, client, claude, &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{
			Body: []byte(`{"anthropic_version":"bedrock-2023-05-31","messages":[{"role":"user","content":"Hello, Claude"}]}`)}})
		if n != 42 || m != 42 {
			t.Errorf("counts %d and %d, the upstream counted 42", n, m)
		}
		bodies := received()
		if len(bodies) != 2 {
			t.Fatalf("%d count_tokens requests, want 2", len(bodies))
		}
		for _, b := range bodies {
			if b["model"] != "claude-sonnet-4-5-20250929" || b["messages"] == nil || b["max_tokens"] != nil || b["anthropic_version"] != nil {
				t.Errorf("count_tokens body %v", b)
			}
		}
		if bodies[0]["system"] == nil || bodies[0]["tools"] == nil {
			t.Errorf("the converse form lost its system prompt or tools: %v", bodies[0])
		}
	})

	t.Run("openai-compatible cannot count", func(t *testing.T) {
		_, err := client.CountTokens(t.Context(), &bedrockruntime.CountTokensInput{ModelId: aws.String(gpt),
			Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: msgs}}})
		var ve *types.ValidationException
		if !errors.As(err, &ve) || ve.ErrorMessage() != "The provided model doesn't support counting tokens." {
			t.Errorf("error %v", err)
		}
	})
}

// TestCountTokensThroughBedrock chains two servers: the front one routes
// haiku to a provider of type bedrock whose endpoint is the back one, so
// the front's count comes from the back's CountTokens over the wire.
func TestCountTokensThroughBedrock(t *testing.T) {
	back, _ := startServer(t, nil)
	upstreamCredentials(t)
	front, _ := startServer(t, func(c *config.Config) {
		c.Providers = append(c.Providers, config.Provider{Name: "aws", Type: "bedrock", Settings: map[string]any{"baseURL": back.URL()}})
		for i := range c.Models {
			if c.Models[i].ID == haiku {
				c.Models[i].Provider = "aws"
				c.Models[i].UpstreamModel = "us." + haiku // counted upstream as its base model
			}
		}
	})
	msgs, system, tools := countConversation()
	native := []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":[{"role":"user","content":"Pass me through."}]}`)
	for name, in := range map[string]types.CountTokensInput{
		"converse":    &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: msgs, System: system, ToolConfig: tools}},
		"invokeModel": &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: native}},
	} {
		got := countTokens(t, runtimeClient(front.URL(), "AKIDEXAMPLE", "secret"), haiku, in)
		want := countTokens(t, runtimeClient(back.URL(), "AKIDEXAMPLE", "secret"), haiku, in)
		if got != want || got == 0 {
			t.Errorf("%s: the front counted %d, the back %d", name, got, want)
		}
	}
}

func TestInferenceProfilesWithTheSDK(t *testing.T) {
	srv, _ := startServer(t, func(c *config.Config) {
		for i := range c.Models {
			if c.Models[i].ID == sonnetV2 {
				c.Models[i].Aliases = append(c.Models[i].Aliases, appProfile)
			}
		}
	})
	control := controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	cfg := srv.Config()

	// All of them, in pages of 7, with the SDK's paginator.
	var all []bedrocktypes.InferenceProfileSummary
	pages := 0
	pager := bedrock.NewListInferenceProfilesPaginator(control, &bedrock.ListInferenceProfilesInput{MaxResults: aws.Int32(7)})
	for pager.HasMorePages() {
		page, err := pager.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(page.InferenceProfileSummaries) > 7 {
			t.Fatalf("page of %d, maxResults 7", len(page.InferenceProfileSummaries))
		}
		all = append(all, page.InferenceProfileSummaries...)
		pages++
	}
	wantSystem := 2 * len(cfg.Models) // us. and global. for us-east-1
	if len(all) != wantSystem+1 || pages != (wantSystem+1+6)/7 {
		t.Fatalf("%d profiles in %d pages, want %d", len(all), pages, wantSystem+1)
	}
	one, err := control.ListInferenceProfiles(t.Context(), &bedrock.ListInferenceProfilesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.InferenceProfileSummaries) != len(all) || one.NextToken != nil {
		t.Errorf("without maxResults: %d profiles, nextToken %v; want all %d in one page", len(one.InferenceProfileSummaries), one.NextToken, len(all))
	}
	seen := map[string]bool{}
	for _, p := range all {
		id := aws.ToString(p.InferenceProfileId)
		if seen[id] {
			t.Errorf("profile %s listed twice", id)
		}
		seen[id] = true
		if p.Status != bedrocktypes.InferenceProfileStatusActive || len(p.Models) != 1 || p.InferenceProfileName == nil || p.InferenceProfileArn == nil {
			t.Errorf("profile %+v", p)
		}
	}

	byID := func(id string) bedrocktypes.InferenceProfileSummary {
		for _, p := range all {
			if aws.ToString(p.InferenceProfileId) == id {
				return p
			}
		}
		t.Fatalf("profile %s not listed", id)
		return bedrocktypes.InferenceProfileSummary{}
	}
	us := byID("us." + sonnetV2)
	if aws.ToString(us.InferenceProfileName) != "US Claude 3.5 Sonnet v2" ||
		aws.ToString(us.InferenceProfileArn) != "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us."+sonnetV2 ||
		aws.ToString(us.Models[0].ModelArn) != "arn:aws:bedrock:us-east-1::foundation-model/"+sonnetV2 ||
		us.Type != bedrocktypes.InferenceProfileTypeSystemDefined || aws.ToString(us.Description) != "Routes requests to Claude 3.5 Sonnet v2 in us-east-1." {
		t.Errorf("us profile %+v", us)
	}
	if g := byID("global." + sonnetV2); aws.ToString(g.InferenceProfileName) != "Global Claude 3.5 Sonnet v2" {
		t.Errorf("global profile name %q", aws.ToString(g.InferenceProfileName))
	}
	if app := byID("a1b2c3d4e5f6"); app.Type != bedrocktypes.InferenceProfileTypeApplication || aws.ToString(app.InferenceProfileArn) != appProfile {
		t.Errorf("application profile %+v", app)
	}

	for typ, want := range map[bedrocktypes.InferenceProfileType]int{bedrocktypes.InferenceProfileTypeSystemDefined: wantSystem, bedrocktypes.InferenceProfileTypeApplication: 1} {
		out, err := control.ListInferenceProfiles(t.Context(), &bedrock.ListInferenceProfilesInput{TypeEquals: typ})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.InferenceProfileSummaries) != want {
			t.Errorf("type %s: %d profiles, want %d", typ, len(out.InferenceProfileSummaries), want)
		}
		for _, p := range out.InferenceProfileSummaries {
			if p.Type != typ {
				t.Errorf("type %s listed a %s profile", typ, p.Type)
			}
		}
	}

	for _, id := range []string{"us." + sonnetV2, aws.ToString(us.InferenceProfileArn), appProfile, "a1b2c3d4e5f6"} {
		got, err := control.GetInferenceProfile(t.Context(), &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String(id)})
		if err != nil {
			t.Fatalf("GetInferenceProfile(%s): %v", id, err)
		}
		if aws.ToString(got.InferenceProfileId) != id && aws.ToString(got.InferenceProfileArn) != id {
			t.Errorf("GetInferenceProfile(%s) = %s", id, aws.ToString(got.InferenceProfileId))
		}
		if len(got.Models) != 1 || aws.ToString(got.Models[0].ModelArn) != "arn:aws:bedrock:us-east-1::foundation-model/"+sonnetV2 {
			t.Errorf("GetInferenceProfile(%s) models %+v", id, got.Models)
		}
	}

	// Every listed profile is a model ID the runtime serves.
	runtime := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	msgs, _, _ := countConversation()
	for _, id := range []string{aws.ToString(us.InferenceProfileId), appProfile} {
		if _, err := runtime.Converse(t.Context(), &bedrockruntime.ConverseInput{ModelId: aws.String(id), Messages: msgs[:1]}); err != nil {
			t.Errorf("Converse on listed profile %s: %v", id, err)
		}
	}
}

func TestInferenceProfilesErrors(t *testing.T) {
	srv, _, _ := startTeam(t)
	alice := controlClient(srv.URL(), aliceKeyID, aliceSecret)
	for _, tt := range []struct {
		name string
		in   bedrock.ListInferenceProfilesInput
		msg  string
	}{
		{"maxResults too small", bedrock.ListInferenceProfilesInput{MaxResults: aws.Int32(0)},
			"1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"maxResults too large", bedrock.ListInferenceProfilesInput{MaxResults: aws.Int32(1001)},
			"1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"},
		{"unknown type", bedrock.ListInferenceProfilesInput{TypeEquals: "CUSTOM"},
			"1 validation error detected: Value 'CUSTOM' at 'typeEquals' failed to satisfy constraint: Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]"},
		{"two violations", bedrock.ListInferenceProfilesInput{MaxResults: aws.Int32(0), TypeEquals: "CUSTOM"},
			"2 validation errors detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1; Value 'CUSTOM' at 'typeEquals' failed to satisfy constraint: Member must satisfy enum value set: [SYSTEM_DEFINED, APPLICATION]"},
		{"forged token", bedrock.ListInferenceProfilesInput{NextToken: aws.String("cDEuLjk5OTk")}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := alice.ListInferenceProfiles(t.Context(), &tt.in)
			var ve *bedrocktypes.ValidationException
			if !errors.As(err, &ve) || (tt.msg != "" && ve.ErrorMessage() != tt.msg) {
				t.Errorf("error %v, want ValidationException: %s", err, tt.msg)
			}
		})
	}

	// A token is bound to its type filter.
	page, err := alice.ListInferenceProfiles(t.Context(), &bedrock.ListInferenceProfilesInput{MaxResults: aws.Int32(1)})
	if err != nil || page.NextToken == nil {
		t.Fatalf("first page: %v", err)
	}
	_, err = alice.ListInferenceProfiles(t.Context(), &bedrock.ListInferenceProfilesInput{NextToken: page.NextToken, TypeEquals: bedrocktypes.InferenceProfileTypeApplication})
	var ve *bedrocktypes.ValidationException
	if !errors.As(err, &ve) {
		t.Errorf("a token replayed with another filter: %v", err)
	}

	for _, id := range []string{"eu." + haiku, "us.anthropic.claude-9-v1:0", "arn:aws:bedrock:us-east-1:000000000000:application-inference-profile/zzzzzzzzzzzz"} {
		_, err := alice.GetInferenceProfile(t.Context(), &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String(id)})
		var nf *bedrocktypes.ResourceNotFoundException
		if !errors.As(err, &nf) || nf.ErrorMessage() != "The inference profile "+id+" does not exist." {
			t.Errorf("GetInferenceProfile(%s): %v", id, err)
		}
	}
	_, err = alice.GetInferenceProfile(t.Context(), &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String("not a profile!")})
	if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "at 'inferenceProfileIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:") {
		t.Errorf("malformed identifier: %v", err)
	}

	// streamer holds bedrock:InvokeModel only.
	streamer := controlClient(srv.URL(), streamerKeyID, streamerSecret)
	_, err = streamer.ListInferenceProfiles(t.Context(), &bedrock.ListInferenceProfilesInput{})
	var denied *bedrocktypes.AccessDeniedException
	if !errors.As(err, &denied) || denied.ErrorMessage() != "User: arn:aws:iam::000000000000:user/streamer is not authorized to perform: bedrock:ListInferenceProfiles because no identity-based policy allows the bedrock:ListInferenceProfiles action" {
		t.Errorf("streamer ListInferenceProfiles: %v", err)
	}
	_, err = streamer.GetInferenceProfile(t.Context(), &bedrock.GetInferenceProfileInput{InferenceProfileIdentifier: aws.String("us." + haiku)})
	if !errors.As(err, &denied) || !strings.Contains(denied.ErrorMessage(), "bedrock:GetInferenceProfile on resource: arn:aws:bedrock:us-east-1:000000000000:inference-profile/us."+haiku+" because") {
		t.Errorf("streamer GetInferenceProfile: %v", err)
	}
}
