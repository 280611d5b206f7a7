package anthropic

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

func TestSSEReader(t *testing.T) {
	type ev struct{ name, data string }
	tests := []struct {
		name string
		in   string
		want []ev
	}{
		{"LF endings", "event: ping\ndata: {\"type\": \"ping\"}\n\n", []ev{{"ping", `{"type": "ping"}`}}},
		{"CRLF endings", "event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n", []ev{{"a", "1"}, {"b", "2"}}},
		{"data lines are joined with newlines", "data: one\ndata: two\n\n", []ev{{"", "one\ntwo"}}},
		{"comments and unknown fields are ignored", ": keep-alive\nid: 7\nretry: 10\nevent: x\ndata: y\n\n", []ev{{"x", "y"}}},
		{"no space after the colon", "event:x\ndata:y\n\n", []ev{{"x", "y"}}},
		{"only one leading space is removed", "data:  two spaces\n\n", []ev{{"", " two spaces"}}},
		{"an event without data is not dispatched", "event: x\n\nevent: y\ndata: z\n\n", []ev{{"y", "z"}}},
		{"extra blank lines", "\n\n\ndata: a\n\n\n\n", []ev{{"", "a"}}},
		{"an event cut off by the end is discarded", "data: a\n\ndata: b\n", []ev{{"", "a"}}},
		{"a final line without an ending", "data: a\n\ndata: b", []ev{{"", "a"}}},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				var r io.Reader = strings.NewReader(tt.in)
				if oneByte {
					r = iotest.OneByteReader(r) // events split across reads
				}
				s := sseReader{r: bufio.NewReaderSize(r, 16)}
				var got []ev
				for {
					e, err := s.next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, ev{e.name, string(e.data)})
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("events %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestSSEReaderRefusesHugeEvents(t *testing.T) {
	in := "data: " + strings.Repeat("a", maxEventBytes) + "\n\n"
	s := sseReader{r: bufio.NewReader(strings.NewReader(in))}
	if _, err := s.next(); !errors.Is(err, errEventTooLarge) {
		t.Errorf("error %v, want errEventTooLarge", err)
	}
}

// sseServer answers every request with a 200 event stream of body.
func sseServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Request-Id", "req_test")
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const (
	sseStart = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n"
	sseText  = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
)

func TestStreamFailures(t *testing.T) {
	tests := []struct {
		name string
		body string
		// atStart: the failure is reported by ConverseStream.
		atStart bool
		code    apierror.Code
		status  int
	}{
		{"overloaded before the first event", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
			true, apierror.ServiceUnavailable, 0},
		{"api_error before the first event", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server error\"}}\n\n",
			true, apierror.ModelError, 500},
		{"empty body", "", true, apierror.ModelError, statusBrokenStream},
		{"api_error mid-stream", sseStart + sseText + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server error\"}}\n\n",
			false, apierror.ModelStreamError, 500},
		// Past the first event the call cannot be retried; any error event
		// is a stream error with the status of its type.
		{"rate limit mid-stream", sseStart + "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}\n\n",
			false, apierror.ModelStreamError, 429},
		{"cut off before message_stop", sseStart + sseText, false, apierror.ModelStreamError, statusBrokenStream},
		{"malformed event data", sseStart + "event: content_block_delta\ndata: {\"type\":\n\n", false, apierror.ModelStreamError, statusBrokenStream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t, sseServer(t, tt.body))
			st, err := p.ConverseStream(context.Background(), testCall, userRequest("Hi", 10))
			if !tt.atStart {
				if err != nil {
					t.Fatalf("ConverseStream: %v", err)
				}
				defer st.Close()
				for err == nil {
					_, err = st.Next()
				}
			}
			var ae *apierror.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v, want an *apierror.Error", err)
			}
			if ae.Code != tt.code || ae.OriginalStatusCode != tt.status {
				t.Errorf("error %s (status %d), want %s (status %d): %v", ae.Code, ae.OriginalStatusCode, tt.code, tt.status, err)
			}
			if want := tt.status >= 500 || tt.code == apierror.ServiceUnavailable; ae.Retryable() != want {
				t.Errorf("%v: retryable %v, want %v", err, ae.Retryable(), want)
			}
			if ae.Cause == nil || !strings.Contains(ae.Cause.Error(), "req_test") {
				t.Errorf("cause %v lacks the request ID", ae.Cause)
			}
		})
	}
}

func TestStreamIgnoresUnknownEventsAndServerToolBlocks(t *testing.T) {
	body := sseStart +
		"event: some_future_event\ndata: {\"type\":\"some_future_event\"}\n\n" +
		// A server tool block (index 0) is left out; the text block after
		// it becomes Converse block 0.
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"citations_delta\",\"citation\":{}}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Found it.\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n" +
		// Redacted thinking arrives whole in its start; an empty text block
		// still exists.
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgB\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":3}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"END\"},\"usage\":{\"input_tokens\":12,\"cache_read_input_tokens\":100,\"output_tokens\":7}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n" +
		"event: ping\ndata: {\"type\":\"ping\"}\n\n"
	p := newTestProvider(t, sseServer(t, body))
	st, err := p.ConverseStream(context.Background(), testCall, userRequest("Hi", 10))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs := collect(t, st)
	var names []string
	var asm = new(struct{ text, redacted string })
	for _, ev := range evs {
		names = append(names, ev.Name())
		if d := ev.ContentBlockDelta; d != nil {
			if d.Delta.Text != nil {
				asm.text += *d.Delta.Text
			}
			if d.Delta.ReasoningContent != nil {
				if d.ContentBlockIndex != 1 {
					t.Errorf("redacted thinking at index %d, want 1", d.ContentBlockIndex)
				}
				asm.redacted += string(d.Delta.ReasoningContent.RedactedContent)
			}
		}
	}
	want := seq(evStart, evDelta, evBlockStop, evDelta, evBlockStop, evDelta, evBlockStop, evStop, evMetadata)
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("events %v, want %v", names, want)
	}
	if asm.text != "Found it." || asm.redacted != "EmwKAhgB" {
		t.Errorf("text %q and redacted %q", asm.text, asm.redacted)
	}
	stop := evs[len(evs)-2].MessageStop
	if stop.StopReason != "stop_sequence" || stop.StopSequence != "END" {
		t.Errorf("stop %+v", stop)
	}
	// message_delta's usage is cumulative and wins over message_start's.
	u := evs[len(evs)-1].Metadata.Usage
	if u.InputTokens != 12 || u.CacheReadInputTokens != 100 || u.OutputTokens != 7 || u.TotalTokens != 119 {
		t.Errorf("usage %+v", u)
	}
}

func TestStreamCancel(t *testing.T) {
	serverSawClose := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, sseStart+"event: ping\ndata: {\"type\": \"ping\"}\n\n")
		w.(http.Flusher).Flush()
		// Hold the stream open until the client goes away.
		<-r.Context().Done()
		close(serverSawClose)
	}))
	defer srv.Close()
	p := newTestProvider(t, srv)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := p.ConverseStream(ctx, testCall, userRequest("Hi", 10))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ev, err := st.Next(); err != nil || ev.MessageStart == nil {
		t.Fatalf("first event %v, %v; want messageStart", ev, err)
	}
	result := make(chan error, 1)
	go func() {
		_, err := st.Next() // blocks: the server sends nothing more
		result <- err
	}()
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel returned %v, want an error wrapping context.Canceled", err)
	}
	<-serverSawClose // the upstream request was aborted, not left running
	if _, err := st.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("Next again returned %v, want context.Canceled", err)
	}
}

func TestStreamCloseAbortsUpstream(t *testing.T) {
	serverSawClose := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, sseStart)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(serverSawClose)
	}))
	defer srv.Close()
	st, err := newTestProvider(t, srv).ConverseStream(context.Background(), testCall, userRequest("Hi", 10))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	<-serverSawClose
	// The queued first event is still there; after it the stream reports
	// that it was closed.
	if _, err := st.Next(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	if _, err := st.Next(); !errors.Is(err, errClosed) {
		t.Errorf("Next after Close returned %v, want errClosed", err)
	}
}
