package bedrock

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// assertNoSecret fails when the secret key shows up anywhere in err's
// text or chain (the server log prints causes).
func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s := fmt.Sprintf("%v %+v", e, e); strings.Contains(s, testSecretKey) || strings.Contains(s, testSessionToken) {
			t.Errorf("error chain leaks a credential: %s", s)
		}
	}
}

func TestHTTPErrors(t *testing.T) {
	const model = "anthropic.claude-3-haiku-20240307-v1:0"
	tests := []struct {
		name    string
		status  int
		errType string // x-amzn-ErrorType
		body    string
		want    apierror.Error // Cause ignored
	}{
		{"throttling", 429, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
			`{"message":"Too many requests, please wait before trying again."}`,
			apierror.Error{Code: apierror.Throttling, Message: "Too many requests, please wait before trying again."}},
		{"validation from __type", 400, "",
			`{"__type":"com.amazon.bedrock#ValidationException","message":"The provided model identifier is invalid."}`,
			apierror.Error{Code: apierror.Validation, Message: "The provided model identifier is invalid."}},
		{"validation with capitalised Message", 400, "ValidationException",
			`{"Message":"Malformed input request: 2 schema violations found, please reformat your input and try again."}`,
			apierror.Error{Code: apierror.Validation, Message: "Malformed input request: 2 schema violations found, please reformat your input and try again."}},
		{"model error keeps its details", 424, "ModelErrorException",
			`{"message":"Received server error (500) from model.","originalStatusCode":500,"resourceName":"arn:aws:bedrock:us-west-2::foundation-model/x"}`,
			apierror.Error{Code: apierror.ModelError, Message: "Received server error (500) from model.", OriginalStatusCode: 500, ResourceName: "arn:aws:bedrock:us-west-2::foundation-model/x"}},
		{"model timeout", 408, "ModelTimeoutException", `{"message":"Model has timed out in processing the request."}`,
			apierror.Error{Code: apierror.ModelTimeout, Message: "Model has timed out in processing the request."}},
		{"model not ready", 429, "ModelNotReadyException", `{"message":"Model is not ready."}`,
			apierror.Error{Code: apierror.ModelNotReady, Message: "Model is not ready."}},
		{"not found", 404, "ResourceNotFoundException", `{"message":"Model not found."}`,
			apierror.Error{Code: apierror.ResourceNotFound, Message: "Model not found."}},
		{"quota", 400, "ServiceQuotaExceededException", `{"message":"Quota exceeded."}`,
			apierror.Error{Code: apierror.ServiceQuotaExceeded, Message: "Quota exceeded."}},
		{"unavailable without message", 503, "ServiceUnavailableException", ``,
			apierror.Error{Code: apierror.ServiceUnavailable, Message: "The model's provider is temporarily unavailable. Try your request again."}},
		{"access denied is the gateway's problem", 403, "AccessDeniedException",
			`{"message":"User: arn:aws:iam::123456789012:user/gw is not authorized to perform: bedrock:InvokeModel"}`,
			apierror.Error{Code: apierror.ModelError, Message: credentialsMessage, OriginalStatusCode: 403, ResourceName: model}},
		{"unrecognized client", 403, "UnrecognizedClientException", `{"message":"The security token included in the request is invalid."}`,
			apierror.Error{Code: apierror.ModelError, Message: credentialsMessage, OriginalStatusCode: 403, ResourceName: model}},
		{"invalid signature", 403, "InvalidSignatureException", `{"Message":"The request signature we calculated does not match the signature you provided."}`,
			apierror.Error{Code: apierror.ModelError, Message: credentialsMessage, OriginalStatusCode: 403, ResourceName: model}},
		{"expired token", 400, "ExpiredTokenException", `{"message":"The security token included in the request is expired"}`,
			apierror.Error{Code: apierror.ModelError, Message: credentialsMessage, OriginalStatusCode: 400, ResourceName: model}},
		{"bare 403", 403, "", `<html>Forbidden</html>`,
			apierror.Error{Code: apierror.ModelError, Message: credentialsMessage, OriginalStatusCode: 403, ResourceName: model}},
		{"unknown type falls back to the status", 500, "SomethingNewException", `{"message":"boom"}`,
			apierror.Error{Code: apierror.ModelError, Message: "The model returned an error while processing the request. Try your request again.", OriginalStatusCode: 500, ResourceName: model}},
		{"proxy error page", 502, "", `<html>Bad Gateway</html>`,
			apierror.Error{Code: apierror.ModelError, Message: "The model returned an error while processing the request. Try your request again.", OriginalStatusCode: 502, ResourceName: model}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := exchange{Model: model, Response: replayResponse{Status: tt.status, Headers: map[string]string{"Content-Type": "application/json", "x-amzn-RequestId": "req-1"}}}
			if tt.errType != "" {
				ex.Response.Headers["x-amzn-ErrorType"] = tt.errType
			}
			switch {
			case json.Valid([]byte(tt.body)):
				ex.Response.Body = json.RawMessage(tt.body)
			case tt.body != "":
				ex.Response.Raw = []byte(tt.body)
			}
			srv := newReplay(t, ex)
			p := newTestProvider(t, srv.srv.URL)
			_, err := p.Converse(t.Context(), provider.Call{UpstreamModel: model}, chatRequest())
			e := asAPIError(t, err)
			got := *e
			got.Cause = nil
			if got != tt.want {
				t.Errorf("error = %+v\nwant    %+v", got, tt.want)
			}
			if e.Cause == nil {
				t.Errorf("no server-side cause")
			}
			if strings.Contains(e.Message, "arn:aws:iam") {
				t.Errorf("the caller's message names the gateway's IAM principal: %s", e.Message)
			}
			assertNoSecret(t, err)
		})
	}
}

func TestTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	p := newTestProvider(t, url)
	_, err := p.Converse(t.Context(), provider.Call{UpstreamModel: "m"}, chatRequest())
	if e := asAPIError(t, err); e.Code != apierror.ServiceUnavailable {
		t.Errorf("error = %+v, want ServiceUnavailableException", e)
	}
	assertNoSecret(t, err)
}

// rawFrame builds a frame by hand, for encodings the SDK encoder refuses
// to produce.
func rawFrame(total, headersLen uint32, rest []byte, crcOK bool) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, total)
	binary.Write(&b, binary.BigEndian, headersLen)
	crc := crc32.ChecksumIEEE(b.Bytes())
	if !crcOK {
		crc++
	}
	binary.Write(&b, binary.BigEndian, crc)
	b.Write(rest)
	return b.Bytes()
}

func event(name, payload string) replayFrame {
	return replayFrame{Headers: map[string]string{":message-type": "event", ":event-type": name, ":content-type": "application/json"}, Payload: json.RawMessage(payload)}
}

func exception(name, payload string) replayFrame {
	return replayFrame{Headers: map[string]string{":message-type": "exception", ":exception-type": name, ":content-type": "application/json"}, Payload: json.RawMessage(payload)}
}

// TestStreamFailures covers how a ConverseStream stream ends badly: every
// exception member of the union, error messages, broken frames. Each
// case sends messageStart first, so the failure comes from Next.
func TestStreamFailures(t *testing.T) {
	start := event("messageStart", `{"role":"assistant"}`)
	tests := []struct {
		name   string
		frames []replayFrame
		raw    []byte // appended after the frames
		want   apierror.Code
		msg    string
	}{
		{"throttling", []replayFrame{exception("throttlingException", `{"message":"Too many tokens."}`)}, nil, apierror.Throttling, "Too many tokens."},
		{"validation", []replayFrame{exception("validationException", `{"message":"Bad input."}`)}, nil, apierror.Validation, "Bad input."},
		{"internal", []replayFrame{exception("internalServerException", `{"message":"Internal failure."}`)}, nil, apierror.InternalServer, "Internal failure."},
		{"unavailable", []replayFrame{exception("serviceUnavailableException", `{"message":"Unavailable."}`)}, nil, apierror.ServiceUnavailable, "Unavailable."},
		{"timeout", []replayFrame{exception("modelTimeoutException", `{"message":"Timed out."}`)}, nil, apierror.ModelTimeout, "Timed out."},
		{"unknown exception", []replayFrame{exception("brandNewException", `{"message":"New."}`)}, nil, apierror.ModelStreamError, "The model's response stream failed: New."},
		{"exception as event", []replayFrame{event("throttlingException", `{"message":"Slow down."}`)}, nil, apierror.Throttling, "Slow down."},
		{"error message", []replayFrame{{Headers: map[string]string{":message-type": "error", ":error-code": "InternalFailure", ":error-message": "Something broke."}}}, nil, apierror.InternalServer, "Something broke."},
		{"error message naming an exception", []replayFrame{{Headers: map[string]string{":message-type": "error", ":error-code": "ThrottlingException", ":error-message": "Slow down."}}}, nil, apierror.Throttling, "Slow down."},
		{"unknown message type", []replayFrame{{Headers: map[string]string{":message-type": "gossip"}}}, nil, apierror.ModelStreamError, ""},
		{"invalid JSON payload", []replayFrame{{Headers: event("contentBlockDelta", "").Headers, Payload: nil}}, nil, apierror.ModelStreamError, ""},
		{"ends without metadata", []replayFrame{event("messageStop", `{"stopReason":"end_turn"}`)}, nil, apierror.ModelStreamError, "The model's response stream failed: the stream ended before the model finished"},
		{"bad prelude CRC", nil, rawFrame(16, 0, make([]byte, 4), false), apierror.ModelStreamError, ""},
		{"oversized frame", nil, rawFrame(1<<31, 0, nil, true), apierror.ModelStreamError, ""},
		{"headers longer than the frame", nil, rawFrame(20, 100, nil, true), apierror.ModelStreamError, ""},
		{"truncated frame", nil, rawFrame(64, 0, []byte("{}"), true), apierror.ModelStreamError, ""},
		{"truncated prelude", nil, []byte{0, 0, 0}, apierror.ModelStreamError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := exchange{Model: "m", Response: replayResponse{Status: 200, Headers: map[string]string{"Content-Type": "application/vnd.amazon.eventstream"},
				Frames: append([]replayFrame{start}, tt.frames...)}}
			ex.Response.Raw = tt.raw
			rs := newReplay(t, ex)
			p := newTestProvider(t, rs.srv.URL)
			s, err := p.ConverseStream(t.Context(), provider.Call{UpstreamModel: "m"}, chatRequest())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ev, err := s.Next()
			if err != nil || ev.MessageStart == nil {
				t.Fatalf("first event = %+v, %v", ev, err)
			}
			for range len(tt.frames) + 1 {
				if _, err = s.Next(); err != nil {
					break
				}
			}
			e := asAPIError(t, err)
			if e.Code != tt.want || (tt.msg != "" && e.Message != tt.msg) {
				t.Errorf("error = %+v, want %s %q", e, tt.want, tt.msg)
			}
			if e.Code == apierror.ModelStreamError && e.ResourceName != "m" {
				t.Errorf("resource name = %q", e.ResourceName)
			}
		})
	}
}

// FuzzFrameReader feeds arbitrary bytes to the frame reader: it must end
// with an error or io.EOF, never panic or loop.
func FuzzFrameReader(f *testing.F) {
	f.Add([]byte{})
	f.Add(event("messageStart", `{"role":"assistant"}`).encode(f))
	f.Add(rawFrame(16, 0, make([]byte, 4), true))
	f.Add(rawFrame(40, 30, make([]byte, 28), true))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := newFrameReader(bytes.NewReader(data))
		for range len(data) + 1 {
			if _, err := fr.next(); err != nil {
				return
			}
		}
		t.Fatalf("%d bytes decoded into more than %d frames", len(data), len(data))
	})
}
