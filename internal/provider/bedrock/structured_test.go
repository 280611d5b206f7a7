package bedrock

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// contactSchema is the schema of Anthropic's structured outputs example,
// a JSON string in Converse.
const contactSchema = `{"type":"object","properties":{"name":{"type":"string"},"email":{"type":"string"},"plan_interest":{"type":"string"},"demo_requested":{"type":"boolean"}},"required":["name","email","plan_interest","demo_requested"],"additionalProperties":false}`

const (
	contactEmail = "Extract the key information from this email: John Smith (john@example.com) is interested in our Enterprise plan and wants to schedule a demo for next Tuesday at 2pm."
	contactJSON  = `{"name":"John Smith","email":"john@example.com","plan_interest":"Enterprise","demo_requested":true}`
	lookupSchema = `{"type":"object","properties":{"email":{"type":"string"}},"required":["email"]}`
)

// structuredRequest asks for structured output with cache points in the
// system prompt (one hour), after the tools, and in the message (default
// TTL).
func structuredRequest() *converse.Request {
	return &converse.Request{
		System: []converse.SystemContentBlock{
			{Text: ptr("You extract contact details from sales email.")},
			{CachePoint: &converse.CachePointBlock{Type: "default", TTL: converse.CacheTTL1h}},
		},
		Messages: []converse.Message{{Role: converse.RoleUser, Content: []converse.ContentBlock{
			converse.TextBlock(contactEmail),
			{CachePoint: &converse.CachePointBlock{Type: "default"}},
		}}},
		InferenceConfig: &converse.InferenceConfig{MaxTokens: ptr(1024)},
		ToolConfig: &converse.ToolConfig{Tools: []converse.Tool{
			{ToolSpec: &converse.ToolSpec{Name: "lookup_customer", Description: "Find a customer by email", InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(lookupSchema)}}},
			{CachePoint: &converse.CachePointBlock{Type: "default", TTL: converse.CacheTTL5m}},
		}},
		OutputConfig: &converse.OutputConfig{Effort: "low", TextFormat: &converse.OutputFormat{
			Type: converse.OutputFormatJSONSchema,
			Structure: converse.OutputFormatStructure{JSONSchema: &converse.JSONSchemaDefinition{
				Schema: contactSchema, Name: "contact", Description: "The sender's contact details"}},
		}},
	}
}

// sdkStructured is structuredRequest as the AWS SDK's ConverseInput
// members: what a Bedrock client sends for it.
func sdkStructured() ([]types.Message, []types.SystemContentBlock, *types.InferenceConfiguration, *types.ToolConfiguration, *types.OutputConfig) {
	var lookup map[string]any
	if err := json.Unmarshal([]byte(lookupSchema), &lookup); err != nil {
		panic(err)
	}
	return []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
			&types.ContentBlockMemberText{Value: contactEmail},
			&types.ContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault}},
		}}},
		[]types.SystemContentBlock{
			&types.SystemContentBlockMemberText{Value: "You extract contact details from sales email."},
			&types.SystemContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault, Ttl: types.CacheTTLOneHour}},
		},
		&types.InferenceConfiguration{MaxTokens: aws.Int32(1024)},
		&types.ToolConfiguration{Tools: []types.Tool{
			&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("lookup_customer"), Description: aws.String("Find a customer by email"),
				InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(lookup)}}},
			&types.ToolMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault, Ttl: types.CacheTTLFiveMinutes}},
		}},
		&types.OutputConfig{Effort: aws.String("low"), TextFormat: &types.OutputFormat{
			Type: types.OutputFormatTypeJsonSchema,
			Structure: &types.OutputFormatStructureMemberJsonSchema{Value: types.JsonSchemaDefinition{
				Schema: aws.String(contactSchema), Name: aws.String("contact"), Description: aws.String("The sender's contact details")}},
		}}
}

// TestStructuredOutputPassesThroughAsTheSDKSendsIt holds the provider's
// Converse body against the AWS SDK's: outputConfig (the schema as a
// string), cache points with their TTLs in system, messages and tools
// must reach Bedrock exactly as a Bedrock client would send them, and the
// answer's cacheDetails must come back.
func TestStructuredOutputPassesThroughAsTheSDKSendsIt(t *testing.T) {
	wantUsage := converse.Usage{InputTokens: 57, OutputTokens: 31, TotalTokens: 3672, CacheReadInputTokens: 2048, CacheWriteInputTokens: 1536,
		CacheDetails: []converse.CacheDetail{{TTL: converse.CacheTTL1h, InputTokens: 1024}, {TTL: converse.CacheTTL5m, InputTokens: 512}}}

	t.Run("converse", func(t *testing.T) {
		ex := loadExchange(t, "converse_structured")
		rs := newReplay(t, ex)
		msgs, sys, ic, tc, oc := sdkStructured()
		out, err := sdkClient(rs.srv.URL).Converse(t.Context(), &bedrockruntime.ConverseInput{ModelId: aws.String(ex.Model),
			Messages: msgs, System: sys, InferenceConfig: ic, ToolConfig: tc, OutputConfig: oc})
		if err != nil {
			t.Fatal(err)
		}
		if d := out.Usage.CacheDetails; len(d) != 2 || d[0].Ttl != types.CacheTTLOneHour || aws.ToInt32(d[1].InputTokens) != 512 {
			t.Errorf("SDK read cacheDetails %+v", d)
		}
		resp, err := newTestProvider(t, rs.srv.URL).Converse(t.Context(), provider.Call{UpstreamModel: ex.Model}, structuredRequest())
		if err != nil {
			t.Fatal(err)
		}
		got := rs.received()
		if len(got) != 2 {
			t.Fatalf("%d requests, want 2", len(got))
		}
		assertJSONEqual(t, got[1].Body, got[0].Body)
		if resp.Text() != contactJSON {
			t.Errorf("text %q", resp.Text())
		}
		if !reflect.DeepEqual(resp.Usage, wantUsage) {
			t.Errorf("usage %+v, want %+v", resp.Usage, wantUsage)
		}
	})

	t.Run("converse stream", func(t *testing.T) {
		ex := loadExchange(t, "converse_stream_cached")
		rs := newReplay(t, ex)
		msgs, sys, ic, tc, oc := sdkStructured()
		out, err := sdkClient(rs.srv.URL).ConverseStream(t.Context(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String(ex.Model),
			Messages: msgs, System: sys, InferenceConfig: ic, ToolConfig: tc, OutputConfig: oc})
		if err != nil {
			t.Fatal(err)
		}
		sdkStream := out.GetStream()
		var sdkDetails []types.CacheDetail
		for ev := range sdkStream.Events() {
			if md, ok := ev.(*types.ConverseStreamOutputMemberMetadata); ok {
				sdkDetails = md.Value.Usage.CacheDetails
			}
		}
		sdkStream.Close()
		if err := sdkStream.Err(); err != nil {
			t.Fatal(err)
		}
		if len(sdkDetails) != 1 || aws.ToInt32(sdkDetails[0].InputTokens) != 1536 {
			t.Errorf("SDK read cacheDetails %+v", sdkDetails)
		}

		st, err := newTestProvider(t, rs.srv.URL).ConverseStream(t.Context(), provider.Call{UpstreamModel: ex.Model}, structuredRequest())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		evs, err := provider.Collect(st)
		if err != nil {
			t.Fatal(err)
		}
		var asm converse.Assembler
		for i := range evs {
			asm.Add(&evs[i])
		}
		want := converse.Usage{InputTokens: 57, OutputTokens: 31, TotalTokens: 1624, CacheWriteInputTokens: 1536,
			CacheDetails: []converse.CacheDetail{{TTL: converse.CacheTTL1h, InputTokens: 1536}}}
		if got := evs[len(evs)-1].Metadata.Usage; !reflect.DeepEqual(got, want) {
			t.Errorf("metadata usage %+v, want %+v", got, want)
		}
		if asm.Response().Text() != contactJSON {
			t.Errorf("assembled text %q", asm.Response().Text())
		}
		got := rs.received()
		if len(got) != 2 {
			t.Fatalf("%d requests, want 2", len(got))
		}
		assertJSONEqual(t, got[1].Body, got[0].Body)
	})
}
