package server_test

import (
	"context"
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
