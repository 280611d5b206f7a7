package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestPostSendsSNSEnvelopeAndRetriesOnlyWhatMayPass(t *testing.T) {
	Backoff = func(int) time.Duration { return time.Millisecond }
	for _, tt := range []struct {
		name     string
		statuses []int
		attempts int32
		ok       bool
	}{
		{"first answer 2xx", []int{204}, 1, true},
		{"5xx then 2xx", []int{500, 502, 200}, 3, true},
		{"429 is retried", []int{429, 200}, 2, true},
		{"400 is final", []int{400, 200}, 1, false},
		{"three failures", []int{503, 503, 503, 200}, 3, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			var got Envelope
			var hdr http.Header
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := n.Add(1) - 1
				b, _ := io.ReadAll(r.Body)
				_ = json.Unmarshal(b, &got)
				hdr = r.Header.Clone()
				w.WriteHeader(tt.statuses[i])
			}))
			defer srv.Close()
			env := Notification("arn:aws:sns:us-east-1:000000000000:t", "ALARM: \"x\"", "body", time.Date(2026, 12, 7, 16, 1, 2, 345e6, time.UTC))
			err := Post(context.Background(), nil, srv.URL, env)
			if (err == nil) != tt.ok || n.Load() != tt.attempts {
				t.Fatalf("Post: %v after %d attempts, want ok=%v after %d", err, n.Load(), tt.ok, tt.attempts)
			}
			if got != env || got.Type != "Notification" || got.Timestamp != "2026-12-07T16:01:02.345Z" || len(got.MessageID) != 36 {
				t.Errorf("envelope %+v", got)
			}
			if hdr.Get("x-amz-sns-message-type") != "Notification" || hdr.Get("x-amz-sns-message-id") != env.MessageID ||
				hdr.Get("x-amz-sns-topic-arn") != env.TopicArn || hdr.Get("Content-Type") != "text/plain; charset=UTF-8" {
				t.Errorf("headers %v", hdr)
			}
		})
	}
}
