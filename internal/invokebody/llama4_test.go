package invokebody

import (
	"encoding/json"
	"strings"
	"testing"
)

// jsonBody encodes a request body.
func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

var (
	llama4Maverick = Model{ID: "meta.llama4-maverick-17b-instruct-v1:0", MaxOutputTokens: 8192, DefaultMaxTokens: 512}
	llama4Scout    = Model{ID: "meta.llama4-scout-17b-instruct-v1:0", MaxOutputTokens: 4096, DefaultMaxTokens: 512}
)

func TestLlama4Decode(t *testing.T) {
	llama4Prompt := "<|begin_of_text|><|header_start|>system<|header_end|>\n\nYou are a helpful assistant.<|eot|>" +
		"<|header_start|>user<|header_end|>\n\nWhat is the weather in SF?<|eot|>" +
		"<|header_start|>assistant<|header_end|>\n\n[get_weather(city=\"SF\")]<|eot|>" +
		"<|header_start|>ipython<|header_end|>\n\n{\"temp\": 18}<|eom|>" +
		"<|header_start|>assistant<|header_end|>\n\n"
	for _, c := range []struct {
		name  string
		model Model
		body  string
		want  string
	}{
		{"Llama 4 template", llama4Maverick, jsonBody(map[string]any{"prompt": llama4Prompt, "max_gen_len": 256, "temperature": 0.5}),
			`{"messages":[{"role":"user","content":[{"text":"What is the weather in SF?"}]},{"role":"assistant","content":[{"text":"[get_weather(city=\"SF\")]"}]},
			{"role":"user","content":[{"text":"{\"temp\": 18}"}]}],"system":[{"text":"You are a helpful assistant."}],"inferenceConfig":{"maxTokens":256,"temperature":0.5}}`},
		{"Llama 3 template is text to Llama 4", llama4Scout,
			`{"prompt":"<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"}`,
			`{"messages":[{"role":"user","content":[{"text":"<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"}]}],"inferenceConfig":{"maxTokens":512}}`},
		{"Llama 4 template is text to Llama 3", llama3,
			`{"prompt":"<|header_start|>user<|header_end|>\n\nHi<|eot|>"}`,
			`{"messages":[{"role":"user","content":[{"text":"<|header_start|>user<|header_end|>\n\nHi<|eot|>"}]}],"inferenceConfig":{"maxTokens":512}}`},
		{"Llama 3.1 end of message", llama3,
			`{"prompt":"<|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\ncall<|eom_id|><|start_header_id|>ipython<|end_header_id|>\n\nR<|eot_id|>"}`,
			`{"messages":[{"role":"user","content":[{"text":"Q"}]},{"role":"assistant","content":[{"text":"call"}]},{"role":"user","content":[{"text":"R"}]}],"inferenceConfig":{"maxTokens":512}}`},
		{"images go in front of the last user turn", llama4Maverick,
			jsonBody(map[string]any{"prompt": "<|begin_of_text|><|header_start|>user<|header_end|>\n\nA<|eot|><|header_start|>assistant<|header_end|>\n\nB<|eot|><|header_start|>user<|header_end|>\n\n<|image|>Describe this image.<|eot|><|header_start|>assistant<|header_end|>\n\n",
				"images": []string{tinyPNG, "R0lGODlhAQABAAAAACw="}}),
			`{"messages":[{"role":"user","content":[{"text":"A"}]},{"role":"assistant","content":[{"text":"B"}]},
			{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"` + tinyPNG + `"}}},{"image":{"format":"gif","source":{"bytes":"R0lGODlhAQABAAAAACw="}}},{"text":"<|image|>Describe this image."}]}],"inferenceConfig":{"maxTokens":512}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := llamaCodec{}.DecodeChat([]byte(c.body), c.model)
			wantRequest(t, req, err, c.want)
		})
	}
}

func TestLlama4DecodeErrors(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"over the model limit", `{"prompt":"Hi","max_gen_len":8193}`, malformedMsg("#/max_gen_len: 8193 is not less or equal to 8192")},
		{"image not base64", `{"prompt":"Hi","images":["not base64!"]}`, malformedMsg("#/images/0: string is not valid base64")},
		{"image not an image", `{"prompt":"Hi","images":["` + tinyPNG + `","aGVsbG8="]}`,
			malformedMsg("#/images/1: image format not supported, expected a base64 PNG, JPEG, GIF or WEBP image")},
		{"10,000 pixels high", `{"prompt":"Hi","images":["` + pngOf(1, 10000) + `"]}`,
			malformedMsg("#/images/0: the image is 1x10000 pixels, image width and height can be at most 8000 pixels")},
		{"truncated PNG", `{"prompt":"Hi","images":["iVBORw0KGgo="]}`,
			malformedMsg("#/images/0: image format not supported, expected a base64 PNG, JPEG, GIF or WEBP image")},
		{"21 images", `{"prompt":"Hi","images":[` + strings.Repeat(`"`+tinyPNG+`",`, 20) + `"` + tinyPNG + `"]}`,
			malformedMsg("#/images: expected maximum item count: 20, found: 21")},
		{"images not strings", `{"prompt":"Hi","images":[{"bytes":"x"}]}`, malformedMsg("#/images/0: expected type: String, found: JSONObject")},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := llamaCodec{}.DecodeChat([]byte(c.body), llama4Maverick)
			wantValidation(t, err, c.want)
		})
	}
}

func FuzzLlama4(f *testing.F) {
	fuzzChat(f, llamaCodec{}, llama4Maverick, nil,
		`{"prompt":"<|begin_of_text|><|header_start|>system<|header_end|>\n\nS<|eot|><|header_start|>user<|header_end|>\n\nQ<|eot|><|header_start|>assistant<|header_end|>\n\n","max_gen_len":100}`,
		`{"prompt":"<|header_start|>ipython<|header_end|>\n\nR<|eom|><|header_start|>user<|header_end|>\n\nQ","images":["`+tinyPNG+`"]}`,
		`{"prompt":"x","images":["R0lGODlh","UklGRgAAAABXRUJQ"]}`,
	)
}
