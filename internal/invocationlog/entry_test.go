package invocationlog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

func testInvocation() *invocation.Invocation {
	return &invocation.Invocation{
		RequestID:       "5c3b3f0e-2d0c-4a7a-9d1e-1f2a3b4c5d6e",
		Operation:       invocation.Converse,
		ModelID:         "us.amazon.nova-lite-v1:0",
		InferenceRegion: "us-west-2",
		PrincipalARN:    "arn:aws:iam::000000000000:user/alice",
		RequestMetadata: map[string]string{"team": "search", "input": "{x"},
		Input:           invocation.Body{ContentType: "application/json", Data: []byte("{\n  \"messages\": [{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}]\n}")},
		Output:          invocation.Body{ContentType: "application/json", Data: []byte(`{"output":{"message":{"role":"assistant","content":[{"text":"hello"}]}},"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":5,"totalTokens":8}}`)},
		Usage:           invocation.Usage{InputTokens: 3, OutputTokens: 5, CacheReadInputTokens: 1},
		OutputModality:  "TEXT",
		Start:           time.Date(2026, 11, 23, 10, 4, 5, 600e6, time.UTC),
		Status:          200,
	}
}

func ptr[T any](v T) *T { return &v }

func TestEntryRoundTripBuildsBedrockRecord(t *testing.T) {
	cfg := &LoggingConfig{S3Config: &S3Config{BucketName: "logs"}}
	b, err := encodeEntry(nil, 7, cfg, "123456789012", "us-east-1", testInvocation())
	if err != nil {
		t.Fatal(err)
	}
	e, err := decodeEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if e.gen != 7 || e.requestID != testInvocation().RequestID || !e.time.Equal(time.Date(2026, 11, 23, 10, 4, 5, 0, time.UTC)) {
		t.Fatalf("header: %+v", e)
	}
	line := mustRecord(t, &e)
	if bytes.ContainsRune(line, '\n') {
		t.Fatalf("record line contains a newline: %s", line)
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	want := Record{
		SchemaType: "ModelInvocationLog", SchemaVersion: "1.0", Timestamp: "2026-11-23T10:04:05Z",
		AccountID: "123456789012", Identity: Identity{ARN: "arn:aws:iam::000000000000:user/alice"}, Region: "us-east-1",
		RequestID: testInvocation().RequestID, Operation: "Converse", ModelID: "us.amazon.nova-lite-v1:0",
		InferenceRegion: "us-west-2", RequestMetadata: map[string]string{"team": "search", "input": "{x"},
		Input: RecordInput{InputContentType: "application/json", InputTokenCount: 3, CacheReadInputTokenCount: 1,
			InputBodyJSON: json.RawMessage(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)},
		Output: RecordOutput{OutputContentType: "application/json", OutputTokenCount: 5,
			OutputBodyJSON: json.RawMessage(testInvocation().Output.Data)},
	}
	got, _ := json.Marshal(r)
	exp, _ := json.Marshal(want)
	if !bytes.Equal(got, exp) {
		t.Fatalf("record\n got %s\nwant %s", got, exp)
	}
}

func TestDataKindTogglesDropBodies(t *testing.T) {
	f := false
	image := testInvocation()
	image.Input.Data = []byte(`{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"AAAA"}}}]}]}`)
	embed := testInvocation()
	embed.OutputModality = "EMBEDDING"
	failed := testInvocation()
	failed.OutputModality = "EMBEDDING"
	failed.Status, failed.ErrorCode = 400, "ValidationException"
	failed.Output.Data = []byte(`{"message":"bad"}`)
	tests := []struct {
		name          string
		cfg           LoggingConfig
		inv           *invocation.Invocation
		wantIn, wantO bool
	}{
		{"defaults deliver everything", LoggingConfig{}, testInvocation(), true, true},
		{"text off", LoggingConfig{TextDataDeliveryEnabled: &f}, testInvocation(), false, false},
		{"image off keeps text output", LoggingConfig{ImageDataDeliveryEnabled: &f}, image, false, true},
		{"image off, text input", LoggingConfig{ImageDataDeliveryEnabled: &f}, testInvocation(), true, true},
		{"embedding off", LoggingConfig{EmbeddingDataDeliveryEnabled: &f}, embed, true, false},
		{"error message is text", LoggingConfig{EmbeddingDataDeliveryEnabled: &f}, failed, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encodeEntry(nil, 1, &tt.cfg, "000000000000", "us-east-1", tt.inv)
			if err != nil {
				t.Fatal(err)
			}
			e, err := decodeEntry(b)
			if err != nil {
				t.Fatal(err)
			}
			if (len(e.in) > 0) != tt.wantIn || (len(e.out) > 0) != tt.wantO {
				t.Fatalf("input kept %v (want %v), output kept %v (want %v)", len(e.in) > 0, tt.wantIn, len(e.out) > 0, tt.wantO)
			}
			line := mustRecord(t, &e)
			var r Record
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			if (r.Input.InputContentType != "") != tt.wantIn || (r.Output.OutputContentType != "") != tt.wantO {
				t.Fatalf("content types do not follow the bodies: %s", line)
			}
			if r.Input.InputTokenCount != 3 || r.RequestID == "" {
				t.Fatalf("metadata must always be delivered: %s", line)
			}
		})
	}
}

func TestMalformedBodyIsRecordedAsString(t *testing.T) {
	inv := testInvocation()
	inv.Input.Data = []byte("not json\n{")
	inv.Output.Data = nil
	b, _ := encodeEntry(nil, 1, &LoggingConfig{}, "000000000000", "us-east-1", inv)
	e, err := decodeEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	line := string(mustRecord(t, &e))
	if !strings.Contains(line, `"inputBodyJson":"not json\n{",`) {
		t.Fatalf("a malformed body must be recorded as a JSON string: %s", line)
	}
	if strings.Contains(line, "outputBody") {
		t.Fatalf("an empty body must be left out: %s", line)
	}
}

func TestDecodeEntryRejectsGarbage(t *testing.T) {
	good, _ := encodeEntry(nil, 1, &LoggingConfig{}, "000000000000", "us-east-1", testInvocation())
	for i := 0; i < len(good); i += 7 {
		if _, err := decodeEntry(good[:i]); err == nil {
			t.Fatalf("truncated entry (%d bytes) accepted", i)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	good, _ := encodeEntry(nil, 1, &LoggingConfig{}, "000000000000", "us-east-1", testInvocation())
	f.Add(good)
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		// The bodies are spliced in as before they were compacted in
		// place.
		if line, err := appendRecord(nil, &e, offload{}); err != nil || !bytes.Equal(line, referenceRecord(&e, offload{})) {
			t.Fatalf("record %q (%v), want %q", line, err, referenceRecord(&e, offload{}))
		}
		// Without bodies the record is the metadata, byte for byte.
		e.in, e.out = nil, nil
		if line, _ := appendRecord(nil, &e, offload{}); !bytes.Equal(line, e.meta) {
			t.Fatalf("splicing no bodies changed the record: %q vs %q", line, e.meta)
		}
	})
}

func TestRecordCarriesTheCacheUsageAndNoTierFields(t *testing.T) {
	inv := testInvocation()
	inv.Usage = invocation.Usage{InputTokens: 12, OutputTokens: 7, CacheReadInputTokens: 2048, CacheWriteInputTokens: 3000, CacheWrite1hInputTokens: 1000}
	inv.ServiceTier, inv.PerformanceLatency = invocation.TierPriority, invocation.LatencyOptimized
	inv.Output.Data = []byte(`{"output":{"message":{"role":"assistant","content":[{"text":"hi"}]}},"stopReason":"end_turn",` +
		`"usage":{"inputTokens":12,"outputTokens":7,"totalTokens":5067,"cacheReadInputTokens":2048,"cacheWriteInputTokens":3000,` +
		`"cacheDetails":[{"ttl":"5m","inputTokens":2000},{"ttl":"1h","inputTokens":1000}]},"metrics":{"latencyMs":9},` +
		`"performanceConfig":{"latency":"optimized"},"serviceTier":{"type":"priority"}}`)
	b, err := encodeEntry(nil, 1, &LoggingConfig{}, "123456789012", "us-east-1", inv)
	if err != nil {
		t.Fatal(err)
	}
	e, err := decodeEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	line := mustRecord(t, &e)
	// Bedrock's schema and nothing else: an unknown field fails the decode.
	var r Record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	if r.Input.InputTokenCount != 12 || r.Input.CacheReadInputTokenCount != 2048 || r.Input.CacheWriteInputTokenCount != 3000 || r.Output.OutputTokenCount != 7 {
		t.Errorf("token counts differ from the usage: %+v %+v", r.Input, r.Output)
	}
	// The tier, latency mode and TTL split travel in the response body, as
	// Bedrock logs it.
	var body struct {
		Usage struct {
			CacheDetails []struct {
				TTL         string `json:"ttl"`
				InputTokens int    `json:"inputTokens"`
			} `json:"cacheDetails"`
		} `json:"usage"`
		PerformanceConfig struct{ Latency string } `json:"performanceConfig"`
		ServiceTier       struct{ Type string }    `json:"serviceTier"`
	}
	if err := json.Unmarshal(r.Output.OutputBodyJSON, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Usage.CacheDetails) != 2 || body.Usage.CacheDetails[1].InputTokens != 1000 || body.ServiceTier.Type != "priority" || body.PerformanceConfig.Latency != "optimized" {
		t.Errorf("output body lost the tier or cache details: %s", r.Output.OutputBodyJSON)
	}
}

// mustRecord renders e's record line with every body inline.
func mustRecord(t testing.TB, e *entry) []byte {
	t.Helper()
	line, err := appendRecord(nil, e, offload{})
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// referenceRecord is the record line as delivery built it before bodies
// were compacted straight into it (json.Compact into a scratch buffer, a
// copy, then the splice): the record format that tests and readers rely
// on, kept to check that the bytes did not change. Offloaded bodies get
// the path o's bucket would give them.
func referenceRecord(e *entry, o offload) []byte {
	body := func(b []byte, part string) (js []byte, path string) {
		if len(b) == 0 {
			return nil, ""
		}
		var buf bytes.Buffer
		if json.Compact(&buf, b) == nil {
			js = buf.Bytes()
		} else {
			js, _ = json.Marshal(string(b))
		}
		if o.s == nil || len(js) <= LargeBodyBytes {
			return js, ""
		}
		if o.bucket == "" {
			return nil, ""
		}
		return nil, "s3://" + o.bucket + "/" + DataKey(o.logs, e.time, e.requestID, part)
	}
	field := func(dst []byte, name string, js []byte, path string) []byte {
		switch {
		case path != "":
			q, _ := json.Marshal(path)
			return append(append(append(dst, `"`+name+`S3Path":`...), q...), ',')
		case js != nil:
			return append(append(append(dst, `"`+name+`Json":`...), js...), ',')
		}
		return dst
	}
	in, inPath := body(e.in, "input")
	out, outPath := body(e.out, "output")
	dst := append([]byte(nil), e.meta[:e.inAt]...)
	dst = field(dst, "inputBody", in, inPath)
	dst = append(dst, e.meta[e.inAt:e.outAt]...)
	dst = field(dst, "outputBody", out, outPath)
	return append(dst, e.meta[e.outAt:]...)
}

// Delivery compacts each body once, straight into the record line; the
// lines must be the bytes they were, for every kind of body and every
// place a body can go (inline, its own object, left out).
func TestAppendRecord_SameBytesAsBefore(t *testing.T) {
	big := `{"messages":[{"role":"user","content":[{"text":"` + strings.Repeat("x", LargeBodyBytes) + `"}]}]}`
	for _, tc := range []struct {
		name    string
		in, out string
		bucket  string // "": a destination without large-data bucket
	}{
		{"compact bodies", `{"a":1}`, `{"b":[true,null]}`, "logs"},
		{"indented bodies", "{\n  \"a\": [ 1, 2 ]\n}\n", "\t{ \"b\" : \"x y\" }", "logs"},
		{"malformed input", "not json\n{<&>}", `{"ok":true}`, "logs"},
		{"escapes and unicode", `{"t":"\u00e9 \" \\ <b>&amp;   é"}`, "\"\xff\xfe\"", "logs"},
		{"no bodies", "", "", "logs"},
		{"large input offloaded", big, `{"small":1}`, "logs"},
		{"large output offloaded", `{}`, big, "logs"},
		{"large malformed input offloaded", strings.Repeat("<not json>", LargeBodyBytes/8), "", "logs"},
		{"large input left out", big, `{"small":1}`, ""},
		{"exactly at the limit", `"` + strings.Repeat("y", LargeBodyBytes-2) + `"`, `"` + strings.Repeat("y", LargeBodyBytes-1) + `"`, "logs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := testInvocation()
			inv.Input.Data, inv.Output.Data = []byte(tc.in), []byte(tc.out)
			b, err := encodeEntry(nil, 3, &LoggingConfig{}, "123456789012", "us-east-1", inv)
			if err != nil {
				t.Fatal(err)
			}
			e, err := decodeEntry(b)
			if err != nil {
				t.Fatal(err)
			}
			store := objectstore.NewDir(t.TempDir())
			snd := newSender(store, nil, newMetrics(nil, nil, nil, time.Now), "123456789012", "us-east-1", nil)
			logs := LogsPrefix("pfx", "123456789012", "us-east-1")
			for _, o := range []offload{{}, {ctx: context.Background(), s: snd, kind: destS3, bucket: tc.bucket, logs: logs}} {
				got, err := appendRecord([]byte("before|"), &e, o)
				if err != nil {
					t.Fatal(err)
				}
				want := append([]byte("before|"), referenceRecord(&e, o)...)
				if !bytes.Equal(got, want) {
					t.Fatalf("offload %v:\n got %.300q\nwant %.300q", o.s != nil, got, want)
				}
				if !json.Valid(got[len("before|"):]) {
					t.Fatalf("not JSON: %.300q", got)
				}
			}
			// What was offloaded is the body's compact JSON, gzipped.
			for _, part := range []struct {
				name string
				body []byte
			}{{"input", e.in}, {"output", e.out}} {
				js := appendCompactBody(nil, part.body)
				obj, err := store.Get(context.Background(), tc.bucket, DataKey(logs, e.time, e.requestID, part.name))
				if len(js) <= LargeBodyBytes || tc.bucket == "" {
					if err == nil {
						t.Fatalf("%s body of %d bytes offloaded", part.name, len(js))
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s body not offloaded: %v", part.name, err)
				}
				zr, err := gzip.NewReader(bytes.NewReader(obj))
				if err != nil {
					t.Fatal(err)
				}
				stored, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(stored, js) {
					t.Fatalf("offloaded %s body: %v, %d bytes, want its %d compact bytes", part.name, err, len(stored), len(js))
				}
			}
		})
	}
}
