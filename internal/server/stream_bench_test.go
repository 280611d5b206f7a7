package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// BenchmarkConverseStream measures a whole ConverseStream call through the
// unmodified SDK client against the zero-latency simulator: the gateway's
// streaming overhead (routing, event-stream encoding, per-event flushes,
// assembling the record, observers) plus the SDK's own decoding.
func BenchmarkConverseStream(b *testing.B) {
	srv, _ := startServer(b, nil)
	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	in := &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Benchmark the stream.")}}}}
	b.ReportAllocs()
	for b.Loop() {
		out, err := client.ConverseStream(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		st := out.GetStream()
		for range st.Events() {
		}
		if err := st.Err(); err != nil {
			b.Fatal(err)
		}
		st.Close()
	}
}

// BenchmarkConverseByProtocol is one signed Converse call end to end
// (the SDK client, loopback, SigV4 verification, the simulator) over
// HTTP/1.1 and over cleartext HTTP/2, so the cost of serving HTTP/2 shows.
func BenchmarkConverseByProtocol(b *testing.B) {
	srv, _ := startServer(b, withAlice)
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(haiku),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Benchmark the protocol.")}}}}
	h2, _ := http2Client(nil)
	for _, p := range []struct {
		name string
		hc   *http.Client
	}{{"HTTP1.1", http1Client(nil)}, {"h2c", h2}} {
		b.Run(p.name, func(b *testing.B) {
			client := runtimeClient(srv.URL(), aliceKeyID, aliceSecret, func(o *bedrockruntime.Options) { o.HTTPClient = p.hc })
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Converse(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
