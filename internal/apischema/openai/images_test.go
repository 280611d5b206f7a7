package openai

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeImageRequest(t *testing.T) {
	req, err := DecodeImageRequest([]byte(`{"model":"m","prompt":"a fox","n":3,"size":"1280x720","quality":"hd","response_format":"url",
		"output_format":"png","output_compression":80,"background":"opaque","moderation":"low","style":"vivid","user":"u1","seed":9,
		"stream":false,"partial_images":0,"safety_identifier":"s1","complexity":"low","frame_count":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if w, h, ok := req.Dimensions(); !ok || w != 1280 || h != 720 || req.Images() != 3 || *req.Seed != 9 || req.Principal() != "s1" {
		t.Errorf("decoded %+v", req)
	}
	req, err = DecodeImageRequest([]byte(`{"model":"m","prompt":"x","size":"auto"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := req.Dimensions(); ok || req.Images() != 1 || req.Principal() != "" {
		t.Errorf("defaults %+v", req)
	}
	for _, c := range []struct{ body, param, msg string }{
		{``, "", "The request body is empty"},
		{`[]`, "", ""},
		{`{"prompt":"x"}`, "model", "You must provide a model parameter."},
		{`{"model":"m"}`, "prompt", "Missing required parameter: 'prompt'."},
		{`{"model":"m","prompt":"  "}`, "prompt", "Invalid 'prompt': empty string."},
		{`{"model":"m","prompt":"x","n":0}`, "n", "Invalid 'n': 0. It must be between 1 and 10."},
		{`{"model":"m","prompt":"x","n":"two"}`, "n", ""},
		{`{"model":"m","prompt":"x","size":"1024"}`, "size", `Invalid value for 'size': "1024".`},
		{`{"model":"m","prompt":"x","size":"0x10"}`, "size", ""},
		{`{"model":"m","prompt":"x","size":"-5x10"}`, "size", ""},
		{`{"model":"m","prompt":"x","quality":"best"}`, "quality", `Invalid value: "best". Supported values are: 'standard', 'hd'`},
		{`{"model":"m","prompt":"x","response_format":"png"}`, "response_format", "Supported values are: 'url', 'b64_json'."},
		{`{"model":"m","prompt":"x","output_format":"gif"}`, "output_format", ""},
		{`{"model":"m","prompt":"x","background":"white"}`, "background", ""},
		{`{"model":"m","prompt":"x","moderation":"none"}`, "moderation", ""},
		{`{"model":"m","prompt":"x","output_compression":101}`, "output_compression", "between 0 and 100"},
		{`{"model":"m","prompt":"x","seed":-1}`, "seed", "must not be negative"},
		{`{"model":"m","prompt":"x","stream":true}`, "stream", "Streaming image generation is not supported"},
		{`{"model":"m","prompt":"x","partial_images":2}`, "stream", ""},
		{`{"model":"m","prompt":"x","frame_count":4}`, "frame_count", "Animated images are not supported"},
		{`{"model":"m","prompt":"x","complexity":"extreme"}`, "complexity", ""},
		{`{"model":"m","prompt":"x","image":"abc"}`, "image", "Unrecognized request argument supplied: image"},
	} {
		_, err := DecodeImageRequest([]byte(c.body))
		var re *RequestError
		if !errors.As(err, &re) {
			t.Errorf("%s: error %v, want a RequestError", c.body, err)
			continue
		}
		if re.Param != c.param || !strings.Contains(re.Err.Message, c.msg) {
			t.Errorf("%s: param %q message %q, want %q %q", c.body, re.Param, re.Err.Message, c.param, c.msg)
		}
	}
}

func TestImageResponseWire(t *testing.T) {
	// OpenAI's documented answer, read and written back.
	const answer = `{"created":1713833628,"data":[{"b64_json":"iVBORw0KGgo=","revised_prompt":"a fox"}],"size":"1024x1024","quality":"high","output_format":"png","background":"opaque","usage":{"input_tokens":50,"output_tokens":50,"total_tokens":100,"input_tokens_details":{"text_tokens":10,"image_tokens":40}}}`
	var r ImageResponse
	if err := json.Unmarshal([]byte(answer), &r); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(r)
	if err != nil || string(out) != answer {
		t.Errorf("round trip\n%s\nwant\n%s (%v)", out, answer, err)
	}
}

// FuzzDecodeImageRequest: any body either decodes to a request whose
// parameters are in range, or is refused with a RequestError; never a
// panic.
func FuzzDecodeImageRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","prompt":"a fox","n":3,"size":"1280x720","quality":"hd"}`,
		`{"model":"m","prompt":"x","size":"auto","response_format":"url","seed":1}`,
		`{"model":"m","prompt":"x","size":"99999999999x1"}`,
		`{"model":"m","prompt":"x","n":null,"stream":null}`,
		`{"model":"m","prompt":"\u0000","frame_count":1,"output_compression":0}`,
		``, `null`, `{`, `{"model":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeImageRequest(body)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error %T %v is not a RequestError", err, err)
			}
			return
		}
		if req.Model == "" || strings.TrimSpace(req.Prompt) == "" || req.Images() < 1 || req.Images() > MaxImages {
			t.Fatalf("accepted %+v", req)
		}
		if w, h, ok := req.Dimensions(); ok && (w <= 0 || h <= 0) {
			t.Fatalf("size %dx%d", w, h)
		}
	})
}
