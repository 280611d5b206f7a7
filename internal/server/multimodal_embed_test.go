package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/modelwatch/modelwatch/internal/invokebody"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
)

const (
	titanMM      = "amazon.titan-embed-image-v1"
	cohereEN     = "cohere.embed-english-v3"
	cohereMulti  = "cohere.embed-multilingual-v3"
	cohereV4     = "cohere.embed-v4:0"
	mmRequestTTL = 10 * time.Second
)

// mmScene is a picture (a gradient sky with a sun); at another size it is
// the same picture resized, with tint it is slightly recoloured.
func mmScene(t *testing.T, w, h, tint int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fy, fx := float64(y)/float64(h), float64(x)/float64(w)
			c := color.NRGBA{R: uint8(min(255, 60+100*fy+float64(tint))), G: uint8(120 + 60*(1-fy)), B: uint8(230 - 150*fy), A: 255}
			if dx, dy := fx-0.3, fy-0.3; dx*dx+dy*dy < 0.02 {
				c = color.NRGBA{R: 250, G: 220, B: 40, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mmStripes is an unrelated picture: green and white vertical stripes.
func mmStripes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: 255, G: 255, B: 255, A: 255}
			if x*10/w%2 == 0 {
				c = color.NRGBA{G: 140, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func cos(a, b []float64) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += a[i] * b[i]
		na += a[i] * a[i]
		nb += b[i] * b[i]
	}
	return dot / math.Sqrt(na*nb)
}

type titanMMOut struct {
	Embedding           []float64 `json:"embedding"`
	InputTextTokenCount *int      `json:"inputTextTokenCount"`
	Message             *string   `json:"message"`
}

// invokeJSON calls InvokeModel and decodes the answer; it returns the
// request ID and the input token header.
func invokeJSON(t *testing.T, client *bedrockruntime.Client, model, body string, out any) (string, int) {
	t.Helper()
	resp, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(model), Body: []byte(body),
		ContentType: aws.String("application/json"), Accept: aws.String("application/json")})
	if err != nil {
		t.Fatalf("%s: %v", model, err)
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		t.Fatalf("%s: %v: %s", model, err, resp.Body)
	}
	if ct := aws.ToString(resp.ContentType); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	n, _ := strconv.Atoi(rawHeader(t, resp.ResultMetadata, "X-Amzn-Bedrock-Input-Token-Count"))
	return requestID(t, resp.ResultMetadata), n
}

func TestTitanMultimodalEmbeddings(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	b64 := base64.StdEncoding.EncodeToString
	sky := b64(mmScene(t, 320, 240, 0))

	// The AWS documentation's text example.
	const text = "A family eating dinner"
	var textOut titanMMOut
	id, header := invokeJSON(t, client, titanMM, `{"inputText":"`+text+`"}`, &textOut)
	tokens := simulator.CountTokens(text)
	if len(textOut.Embedding) != 1024 || textOut.InputTextTokenCount == nil || *textOut.InputTextTokenCount != tokens || header != tokens || textOut.Message != nil {
		t.Errorf("text: %d values, tokens %v (header %d, want %d), message %v", len(textOut.Embedding), textOut.InputTextTokenCount, header, tokens, textOut.Message)
	}
	if inv := rec.byRequestID(t, id); inv.Usage.InputTokens != tokens || inv.Usage.InputImages != 0 {
		t.Errorf("text usage %+v", inv.Usage)
	}

	// Image only, at each output length; the same picture resized and
	// recoloured lands closer than an unrelated one.
	for _, n := range []int{256, 384, 1024} {
		cfg := `,"embeddingConfig":{"outputEmbeddingLength":` + strconv.Itoa(n) + `}}`
		var orig, resized, tinted, other titanMMOut
		id, header := invokeJSON(t, client, titanMM, `{"inputImage":"`+sky+`"`+cfg, &orig)
		invokeJSON(t, client, titanMM, `{"inputImage":"`+b64(mmScene(t, 200, 150, 0))+`"`+cfg, &resized)
		invokeJSON(t, client, titanMM, `{"inputImage":"`+b64(mmScene(t, 320, 240, 18))+`"`+cfg, &tinted)
		invokeJSON(t, client, titanMM, `{"inputImage":"`+b64(mmStripes(t, 320, 240))+`"`+cfg, &other)
		if len(orig.Embedding) != n || len(other.Embedding) != n || *orig.InputTextTokenCount != 0 || header != 0 {
			t.Fatalf("length %d: got %d values, %d tokens (header %d)", n, len(orig.Embedding), *orig.InputTextTokenCount, header)
		}
		if inv := rec.byRequestID(t, id); inv.Usage.InputImages != 1 || inv.Usage.InputTokens != 0 {
			t.Errorf("image usage %+v", inv.Usage)
		}
		cr, ct, cu := cos(orig.Embedding, resized.Embedding), cos(orig.Embedding, tinted.Embedding), cos(orig.Embedding, other.Embedding)
		t.Logf("length %d: resized %.3f, recoloured %.3f, unrelated %.3f", n, cr, ct, cu)
		if cr < 0.95 || ct < 0.85 || cu > 0.4 {
			t.Errorf("length %d: resized %.3f (want >= 0.95), recoloured %.3f (want >= 0.85), unrelated %.3f (want <= 0.4)", n, cr, ct, cu)
		}
		if math.Abs(cos(orig.Embedding, orig.Embedding)-1) > 1e-9 {
			t.Error("cosine")
		}
	}

	// Text and image together: one vector, between the two, deterministic.
	var both, again, imageOnly titanMMOut
	body := `{"inputText":"` + text + `","inputImage":"` + sky + `","embeddingConfig":{"outputEmbeddingLength":384}}`
	id, header = invokeJSON(t, client, titanMM, body, &both)
	invokeJSON(t, client, titanMM, body, &again)
	invokeJSON(t, client, titanMM, `{"inputImage":"`+sky+`","embeddingConfig":{"outputEmbeddingLength":384}}`, &imageOnly)
	var text384 titanMMOut
	invokeJSON(t, client, titanMM, `{"inputText":"`+text+`","embeddingConfig":{"outputEmbeddingLength":384}}`, &text384)
	if !slices.Equal(both.Embedding, again.Embedding) {
		t.Error("the same request gave different vectors")
	}
	if *both.InputTextTokenCount != tokens || header != tokens {
		t.Errorf("combined tokens %d, header %d, want %d", *both.InputTextTokenCount, header, tokens)
	}
	if inv := rec.byRequestID(t, id); inv.Usage.InputImages != 1 || inv.Usage.InputTokens != tokens {
		t.Errorf("combined usage %+v", inv.Usage)
	}
	ci, ctx := cos(both.Embedding, imageOnly.Embedding), cos(both.Embedding, text384.Embedding)
	t.Logf("combined: to its image %.3f, to its text %.3f, text to image %.3f", ci, ctx, cos(imageOnly.Embedding, text384.Embedding))
	if math.Abs(ci-math.Sqrt(0.5)) > 0.1 || math.Abs(ctx-math.Sqrt(0.5)) > 0.1 {
		t.Errorf("combined vector should be the normalised average: %.3f, %.3f", ci, ctx)
	}
	var sum float64
	for _, x := range both.Embedding {
		sum += x * x
	}
	if math.Abs(sum-1) > 1e-4 {
		t.Errorf("combined vector length² %v", sum)
	}

	// Bad input: Bedrock's ValidationException texts.
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black}), nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, body, msg string }{
		{"length", `{"inputText":"x","embeddingConfig":{"outputEmbeddingLength":512}}`,
			"Malformed input request: #/embeddingConfig/outputEmbeddingLength: 512 is not a valid enum value, please reformat your input and try again."},
		{"nothing", `{"embeddingConfig":{"outputEmbeddingLength":256}}`,
			"Malformed input request: #: at least one of [inputText, inputImage] is required, please reformat your input and try again."},
		{"gif", `{"inputImage":"` + b64(gifBuf.Bytes()) + `"}`, "400 Bad Request: Unsupported image format. Supported formats: PNG, JPEG."},
		{"too many tokens", `{"inputText":"` + strings.Repeat("word ", 150) + `"}`,
			"400 Bad Request: Too many input tokens. Max input tokens: 128, request input token count: " + strconv.Itoa(simulator.CountTokens(strings.Repeat("word ", 150)))},
		{"too wide", `{"inputImage":"` + b64(mmStripes(t, 4100, 8)) + `"}`, "400 Bad Request: Image exceeds max pixels allowed."},
	} {
		_, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(titanMM), Body: []byte(c.body)})
		apiError(t, err, "ValidationException", 400, c.msg)
	}
}

// cohereOut decodes both of Cohere's response types.
type cohereOut struct {
	ID           string          `json:"id"`
	Texts        []string        `json:"texts"`
	Embeddings   json.RawMessage `json:"embeddings"`
	ResponseType string          `json:"response_type"`
	Images       []struct {
		Width, Height int
		Format        string
		BitDepth      int `json:"bit_depth"`
	} `json:"images"`
}

type cohereByType struct {
	Float   [][]float32 `json:"float"`
	Int8    [][]int     `json:"int8"`
	Uint8   [][]int     `json:"uint8"`
	Binary  [][]int     `json:"binary"`
	Ubinary [][]int     `json:"ubinary"`
}

func TestCohereEmbeddings(t *testing.T) {
	srv, rec := startServer(t, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	dataURI := func(b []byte) string { return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b) }

	// The AWS documentation's v3 example, floats.
	texts := []string{"Hello from Cohere!", "Bonjour de Cohere!"}
	var out cohereOut
	id, header := invokeJSON(t, client, cohereMulti, `{"texts":["Hello from Cohere!","Bonjour de Cohere!"],"input_type":"search_document"}`, &out)
	var floats [][]float64
	if err := json.Unmarshal(out.Embeddings, &floats); err != nil {
		t.Fatalf("embeddings_floats: %v", err)
	}
	tokens := simulator.CountTokens(texts[0]) + simulator.CountTokens(texts[1])
	if out.ID != id || !slices.Equal(out.Texts, texts) || out.ResponseType != "embeddings_floats" || len(floats) != 2 ||
		len(floats[0]) != 1024 || header != tokens {
		t.Errorf("v3 floats: id %q (request %q), texts %v, type %s, %d vectors, header %d (want %d)", out.ID, id, out.Texts, out.ResponseType, len(floats), header, tokens)
	}
	if inv := rec.byRequestID(t, id); inv.Usage.InputTokens != tokens {
		t.Errorf("usage %+v", inv.Usage)
	}

	// Every embedding type: the quantised ones derive from the floats.
	id, _ = invokeJSON(t, client, cohereEN, `{"texts":["Hello from Cohere!"],"input_type":"search_query","embedding_types":["float","int8","uint8","binary","ubinary"]}`, &out)
	var by cohereByType
	if err := json.Unmarshal(out.Embeddings, &by); err != nil || out.ResponseType != "embeddings_by_type" {
		t.Fatalf("by type: %v %s", err, out.ResponseType)
	}
	if len(by.Float) != 1 || len(by.Float[0]) != 1024 || len(by.Int8[0]) != 1024 || len(by.Uint8[0]) != 1024 || len(by.Binary[0]) != 128 || len(by.Ubinary[0]) != 128 {
		t.Fatalf("lengths float %d int8 %d uint8 %d binary %d ubinary %d", len(by.Float[0]), len(by.Int8[0]), len(by.Uint8[0]), len(by.Binary[0]), len(by.Ubinary[0]))
	}
	f := by.Float[0]
	if !slices.Equal(by.Int8[0], invokebody.QuantizeInt8(f)) || !slices.Equal(by.Uint8[0], invokebody.QuantizeUint8(f)) ||
		!slices.Equal(by.Binary[0], invokebody.QuantizeBinary(f)) || !slices.Equal(by.Ubinary[0], invokebody.QuantizeUbinary(f)) {
		t.Error("quantised vectors do not derive from the float vector")
	}
	peak := 0
	for i, q := range by.Int8[0] {
		peak = max(peak, q, -q)
		if (f[i] > 0) != (by.Ubinary[0][i/8]&(0x80>>(i%8)) != 0) {
			t.Fatalf("ubinary bit %d does not follow the sign of %v", i, f[i])
		}
	}
	if peak != 127 || by.Binary[0][0] != by.Ubinary[0][0]-128 {
		t.Errorf("int8 peak %d, binary[0] %d, ubinary[0] %d", peak, by.Binary[0][0], by.Ubinary[0][0])
	}
	// The same text as a document gets the same vector (deterministic).
	var doc cohereOut
	invokeJSON(t, client, cohereEN, `{"texts":["Hello from Cohere!"],"input_type":"search_document","embedding_types":["float"]}`, &doc)
	var docBy cohereByType
	json.Unmarshal(doc.Embeddings, &docBy)
	if !slices.Equal(docBy.Float[0], f) {
		t.Error("the same text gave another vector")
	}
	_ = id

	// v3 image: input_type image, one data URI; the image is echoed.
	sky := mmScene(t, 64, 48, 0)
	id, header = invokeJSON(t, client, cohereEN, `{"images":["`+dataURI(sky)+`"],"input_type":"image","embedding_types":["float"]}`, &out)
	json.Unmarshal(out.Embeddings, &by)
	if len(by.Float) != 1 || len(by.Float[0]) != 1024 || len(out.Texts) != 0 || len(out.Images) != 1 || header != 0 ||
		out.Images[0].Width != 64 || out.Images[0].Height != 48 || out.Images[0].Format != "png" || out.Images[0].BitDepth != 24 {
		t.Errorf("v3 image: %+v, header %d", out, header)
	}
	if inv := rec.byRequestID(t, id); inv.Usage.InputImages != 1 || inv.Usage.InputTokens != 0 {
		t.Errorf("image usage %+v", inv.Usage)
	}

	// v4: output_dimension, images and interleaved inputs; answers by type.
	var v4 cohereOut
	id, header = invokeJSON(t, client, cohereV4, `{"texts":["Hello from Cohere!"],"input_type":"classification","output_dimension":512,"embedding_types":["float","binary"]}`, &v4)
	var v4by cohereByType
	json.Unmarshal(v4.Embeddings, &v4by)
	if v4.ResponseType != "embeddings_by_type" || len(v4by.Float[0]) != 512 || len(v4by.Binary[0]) != 64 || header != simulator.CountTokens(texts[0]) {
		t.Errorf("v4 texts: %s, %d floats, %d binary, header %d", v4.ResponseType, len(v4by.Float[0]), len(v4by.Binary[0]), header)
	}
	body := `{"input_type":"search_document","inputs":[{"content":[{"type":"text","text":"a sunny sky"},{"type":"image_url","image_url":"` + dataURI(sky) +
		`"}]},{"content":[{"type":"image_url","image_url":"` + dataURI(mmScene(t, 128, 96, 0)) + `"}]},{"content":[{"type":"image_url","image_url":"` +
		dataURI(mmStripes(t, 64, 48)) + `"}]}]}`
	id, header = invokeJSON(t, client, cohereV4, body, &v4)
	json.Unmarshal(v4.Embeddings, &v4by)
	if len(v4by.Float) != 3 || len(v4by.Float[0]) != 1536 || header != simulator.CountTokens("a sunny sky") || len(v4.Images) != 3 {
		t.Fatalf("v4 inputs: %d vectors, header %d, %d images", len(v4by.Float), header, len(v4.Images))
	}
	if inv := rec.byRequestID(t, id); inv.Usage.InputImages != 3 {
		t.Errorf("v4 usage %+v", inv.Usage)
	}
	v := func(i int) []float64 {
		out := make([]float64, len(v4by.Float[i]))
		for j, x := range v4by.Float[i] {
			out[j] = float64(x)
		}
		return out
	}
	// The resized sky (input 1) is nearer the text+sky input than the
	// stripes are.
	near, far := cos(v(0), v(1)), cos(v(0), v(2))
	t.Logf("v4: text+sky to resized sky %.3f, to stripes %.3f", near, far)
	if near < far+0.3 {
		t.Errorf("text+sky to resized sky %.3f, to stripes %.3f", near, far)
	}

	// The v4 model's short ID from the model parameters page works too.
	invokeJSON(t, client, "cohere.embed-v4", `{"texts":["x"],"input_type":"clustering"}`, &v4)

	for _, c := range []struct{ model, body, msg string }{
		{cohereEN, `{"texts":["a"],"input_type":"search"}`, "Malformed input request: #/input_type: search is not a valid enum value, please reformat your input and try again."},
		{cohereV4, `{"texts":["a"],"input_type":"image"}`, "Malformed input request: #/input_type: image is not a valid enum value, please reformat your input and try again."},
		{cohereEN, `{"texts":["a"],"input_type":"clustering","truncate":"RIGHT"}`, "Malformed input request: #/truncate: RIGHT is not a valid enum value, please reformat your input and try again."},
		{cohereV4, `{"texts":["a"],"input_type":"clustering","output_dimension":100}`, "Malformed input request: #/output_dimension: 100 is not a valid enum value, please reformat your input and try again."},
		{cohereEN, `{"texts":["a"],"input_type":"clustering","embedding_types":["int4"]}`, "Malformed input request: #/embedding_types/0: int4 is not a valid enum value, please reformat your input and try again."},
		{cohereEN, `{"images":["` + dataURI(sky) + `"],"input_type":"search_document"}`, "Malformed input request: #/input_type: image is required with images and accepted only with them, please reformat your input and try again."},
		{cohereV4, `{"texts":["` + strings.Repeat("word ", 20) + `"],"input_type":"clustering","max_tokens":5}`,
			"400 Bad Request: Too many input tokens. Max input tokens: 5, request input token count: " + strconv.Itoa(simulator.CountTokens(strings.Repeat("word ", 20)))},
	} {
		_, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(c.model), Body: []byte(c.body)})
		apiError(t, err, "ValidationException", 400, c.msg)
	}
	// truncate cuts instead: RIGHT keeps the first 5 tokens.
	long := strings.Repeat("word ", 20)
	var cut, first cohereOut
	_, header = invokeJSON(t, client, cohereV4, `{"texts":["`+long+`"],"input_type":"clustering","max_tokens":5,"truncate":"RIGHT"}`, &cut)
	if header != 5 {
		t.Errorf("truncated tokens %d, want 5", header)
	}
	invokeJSON(t, client, cohereV4, `{"texts":["word word word word word"],"input_type":"clustering"}`, &first)
	if !bytes.Equal(cut.Embeddings, first.Embeddings) {
		t.Error("RIGHT truncation should embed the first 5 tokens")
	}
}

// TestMultimodalEmbeddingLogging checks the logging toggles on these
// models: embeddingDataDeliveryEnabled governs the output body,
// imageDataDeliveryEnabled an image input's body.
func TestMultimodalEmbeddingLogging(t *testing.T) {
	srv, _ := startServer(t, nil)
	const bucket = "mm-logs"
	store := enableLocalLogging(t, srv, bucket)
	control := controlClient(srv.URL(), "AKIDEXAMPLE", "secret")
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	setToggles := func(embedding, image bool) {
		t.Helper()
		_, err := control.PutModelInvocationLoggingConfiguration(context.Background(), &bedrock.PutModelInvocationLoggingConfigurationInput{
			LoggingConfig: &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String(bucket), KeyPrefix: aws.String(logPrefix)},
				TextDataDeliveryEnabled: aws.Bool(true), EmbeddingDataDeliveryEnabled: aws.Bool(embedding), ImageDataDeliveryEnabled: aws.Bool(image)},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	imageBody := `{"inputImage":"` + base64.StdEncoding.EncodeToString(mmScene(t, 32, 32, 0)) + `","embeddingConfig":{"outputEmbeddingLength":256}}`
	var o titanMMOut
	var c cohereOut

	setToggles(false, false)
	offText, _ := invokeJSON(t, client, titanMM, `{"inputText":"logged text"}`, &o)
	offImage, _ := invokeJSON(t, client, titanMM, imageBody, &o)
	offCohere, _ := invokeJSON(t, client, cohereEN, `{"texts":["logged text"],"input_type":"search_document"}`, &c)
	setToggles(true, true)
	onText, _ := invokeJSON(t, client, titanMM, `{"inputText":"logged text"}`, &o)
	onImage, _ := invokeJSON(t, client, titanMM, imageBody, &o)
	onCohere, _ := invokeJSON(t, client, cohereEN, `{"texts":["logged text"],"input_type":"search_document"}`, &c)

	lo := waitForRecords(t, store, bucket, []string{offText, offImage, offCohere, onText, onImage, onCohere}, mmRequestTTL)
	check := func(id string, wantIn, wantOut bool, tokens int) {
		t.Helper()
		r := lo.records[id][0]
		if (len(r.Input.InputBodyJSON) > 0) != wantIn || (len(r.Output.OutputBodyJSON) > 0) != wantOut {
			t.Errorf("record %s: input body %v (want %v), output body %v (want %v): %s", r.ModelID, len(r.Input.InputBodyJSON) > 0, wantIn,
				len(r.Output.OutputBodyJSON) > 0, wantOut, lo.raw[id])
		}
		if r.Input.InputTokenCount != tokens || r.Output.OutputTokenCount != 0 {
			t.Errorf("record %s tokens in %d out %d, want %d and 0", r.ModelID, r.Input.InputTokenCount, r.Output.OutputTokenCount, tokens)
		}
	}
	n := simulator.CountTokens("logged text")
	check(offText, true, false, n)
	check(offImage, false, false, 0)
	check(offCohere, true, false, n)
	check(onText, true, true, n)
	check(onImage, true, true, 0)
	check(onCohere, true, true, n)
	var logged titanMMOut
	if err := json.Unmarshal(lo.records[onImage][0].Output.OutputBodyJSON, &logged); err != nil || len(logged.Embedding) != 256 {
		t.Errorf("logged output: %v, %d values", err, len(logged.Embedding))
	}
}
