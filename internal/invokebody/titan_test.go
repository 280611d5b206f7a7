package invokebody

import (
	"reflect"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

var titanExpress = Model{ID: "amazon.titan-text-express-v1", MaxOutputTokens: 8192, DefaultMaxTokens: 512}

func TestTitanTextDecode(t *testing.T) {
	for _, c := range []struct {
		name, body string
		m          Model
		want       string
	}{
		{"full", `{"inputText":"User: Hi\nBot:","textGenerationConfig":{"maxTokenCount":100,"temperature":0.5,"topP":0.9,"stopSequences":["User:","|"]}}`, titanExpress,
			`{"messages":[{"role":"user","content":[{"text":"User: Hi\nBot:"}]}],"inferenceConfig":{"maxTokens":100,"temperature":0.5,"topP":0.9,"stopSequences":["User:","|"]}}`},
		{"model default", `{"inputText":"Hi"}`, Model{ID: titanExpress.ID, DefaultMaxTokens: 300},
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":300}}`},
		{"family default", `{"inputText":"Hi","textGenerationConfig":{}}`, Model{ID: titanExpress.ID},
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":512}}`},
		{"zero maxTokenCount", `{"inputText":"Hi","textGenerationConfig":{"maxTokenCount":0}}`, titanExpress,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":512}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := titanTextCodec{}.DecodeChat([]byte(c.body), c.m)
			wantRequest(t, req, err, c.want)
		})
	}
}

func TestTitanTextDecodeErrors(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"required key", `{"prompt":"Hi"}`,
			malformedMsg("#: required key [inputText] not found", "#: extraneous key [prompt] is not permitted")},
		{"extraneous key", `{"inputText":"Hi","textGenerationConfig":{"maxTokens":10}}`,
			malformedMsg("#/textGenerationConfig: extraneous key [maxTokens] is not permitted")},
		{"wrong type", `{"inputText":"Hi","textGenerationConfig":{"temperature":"hot"}}`,
			malformedMsg("#/textGenerationConfig/temperature: expected type: Number, found: String")},
		{"over model limit", `{"inputText":"Hi","textGenerationConfig":{"maxTokenCount":9000}}`,
			malformedMsg("#/textGenerationConfig/maxTokenCount: 9000 is not less or equal to 8192")},
		{"stop sequence", `{"inputText":"Hi","textGenerationConfig":{"stopSequences":["Observation"]}}`,
			malformedMsg(`#/textGenerationConfig/stopSequences/0: string [Observation] does not match pattern ^(\|+|User:)$`)},
		{"several", `{"inputText":5,"textGenerationConfig":{"topP":2,"maxTokenCount":-1}}`,
			malformedMsg("#/inputText: expected type: String, found: Integer",
				"#/textGenerationConfig/maxTokenCount: -1 is not greater or equal to 0",
				"#/textGenerationConfig/topP: 2 is not less or equal to 1")},
		{"empty", `{"inputText":""}`, malformedMsg("#/inputText: expected minLength: 1, actual: 0")},
		{"blank", `{"inputText":" \n "}`, malformedMsg("#/inputText: string must contain non-whitespace characters")},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := titanTextCodec{}.DecodeChat([]byte(c.body), titanExpress)
			wantValidation(t, err, c.want)
		})
	}
}

func TestTitanTextEncode(t *testing.T) {
	for _, c := range []struct {
		stop, want string
	}{
		{converse.StopEndTurn, `{"inputTextTokenCount":5,"results":[{"tokenCount":3,"outputText":"<Hello>","completionReason":"FINISH"}]}`},
		{converse.StopMaxTokens, `{"inputTextTokenCount":5,"results":[{"tokenCount":3,"outputText":"<Hello>","completionReason":"LENGTH"}]}`},
		{converse.StopSequence, `{"inputTextTokenCount":5,"results":[{"tokenCount":3,"outputText":"<Hello>","completionReason":"STOP_CRITERIA_MET"}]}`},
		{converse.StopContentFiltered, `{"inputTextTokenCount":5,"results":[{"tokenCount":3,"outputText":"<Hello>","completionReason":"CONTENT_FILTERED"}]}`},
		{converse.StopToolUse, `{"inputTextTokenCount":5,"results":[{"tokenCount":3,"outputText":"<Hello>","completionReason":"FINISH"}]}`},
	} {
		resp := &converse.Response{
			Output:     converse.Output{Message: &converse.Message{Role: "assistant", Content: []converse.ContentBlock{converse.TextBlock("<Hello>")}}},
			StopReason: c.stop, Usage: converse.Usage{InputTokens: 5, OutputTokens: 3},
		}
		got, err := titanTextCodec{}.EncodeChat(nil, resp, Meta{})
		if err != nil || string(got) != c.want {
			t.Errorf("%s:\n got: %s (%v)\nwant: %s", c.stop, got, err, c.want)
		}
	}
}

var (
	embedV1Model = Model{ID: "amazon.titan-embed-text-v1"}
	embedV2Model = Model{ID: "amazon.titan-embed-text-v2:0"}
)

func TestTitanEmbedDecode(t *testing.T) {
	for _, c := range []struct {
		name, body string
		m          Model
		want       provider.EmbedRequest
	}{
		{"v1", `{"inputText":"hello"}`, embedV1Model, provider.EmbedRequest{Inputs: []string{"hello"}, Dimensions: 1536}},
		{"v2 defaults", `{"inputText":"hello"}`, embedV2Model, provider.EmbedRequest{Inputs: []string{"hello"}, Dimensions: 1024, Normalize: true}},
		{"v2 options", `{"inputText":"hello","dimensions":256,"normalize":false,"embeddingTypes":["float"]}`, embedV2Model,
			provider.EmbedRequest{Inputs: []string{"hello"}, Dimensions: 256}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := titanEmbedCodec{}.DecodeEmbed([]byte(c.body), c.m)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Request, c.want) {
				t.Errorf("got %+v, want %+v", got.Request, c.want)
			}
		})
	}
}

func TestTitanEmbedDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		name, body string
		m          Model
		want       string
	}{
		{"v1 takes only inputText", `{"inputText":"hi","dimensions":256}`, embedV1Model,
			malformedMsg("#: extraneous key [dimensions] is not permitted")},
		{"required", `{"texts":["hi"]}`, embedV2Model,
			malformedMsg("#: required key [inputText] not found", "#: extraneous key [texts] is not permitted")},
		{"dimensions", `{"inputText":"hi","dimensions":100}`, embedV2Model, malformedMsg("#/dimensions: 100 is not a valid enum value")},
		{"normalize", `{"inputText":"hi","normalize":"yes"}`, embedV2Model, malformedMsg("#/normalize: expected type: Boolean, found: String")},
		{"embedding type", `{"inputText":"hi","embeddingTypes":["int8"]}`, embedV2Model, malformedMsg("#/embeddingTypes/0: int8 is not a valid enum value")},
		{"no embedding types", `{"inputText":"hi","embeddingTypes":[]}`, embedV2Model, malformedMsg("#/embeddingTypes: expected minimum item count: 1, found: 0")},
		{"empty", `{"inputText":""}`, embedV2Model, malformedMsg("#/inputText: expected minLength: 1, actual: 0")},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := titanEmbedCodec{}.DecodeEmbed([]byte(c.body), c.m)
			wantValidation(t, err, c.want)
		})
	}
}

func TestTitanEmbedEncode(t *testing.T) {
	resp := &provider.EmbedResponse{Embeddings: [][]float32{{0.5, -0.25, 0}}, InputTokens: 3}
	for _, c := range []struct {
		name, body string
		m          Model
		want       string
	}{
		{"v1", `{"inputText":"hi"}`, embedV1Model, `{"embedding":[0.5,-0.25,0],"inputTextTokenCount":3}`},
		{"v2", `{"inputText":"hi"}`, embedV2Model, `{"embedding":[0.5,-0.25,0],"embeddingsByType":{"float":[0.5,-0.25,0]},"inputTextTokenCount":3}`},
		{"v2 both", `{"inputText":"hi","embeddingTypes":["float","binary"]}`, embedV2Model,
			`{"embedding":[0.5,-0.25,0],"embeddingsByType":{"binary":[1,0,0],"float":[0.5,-0.25,0]},"inputTextTokenCount":3}`},
		{"v2 binary", `{"inputText":"hi","embeddingTypes":["binary"]}`, embedV2Model,
			`{"embedding":[0.5,-0.25,0],"embeddingsByType":{"binary":[1,0,0]},"inputTextTokenCount":3}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := titanEmbedCodec{}.DecodeEmbed([]byte(c.body), c.m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := titanEmbedCodec{}.EncodeEmbed(req, resp, Meta{ModelID: c.m.ID})
			if err != nil || string(got) != c.want {
				t.Errorf("\n got: %s (%v)\nwant: %s", got, err, c.want)
			}
		})
	}
}
