package simulator

import (
	"context"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/provider"
)

func BenchmarkConverse(b *testing.B) {
	s := New(nil, Options{})
	req := withInference(userReq("What is the capital of France? Answer briefly."), 1024)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Converse(ctx, call(), req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConverseParallel(b *testing.B) {
	s := New(map[string]ModelSettings{testModel: {ErrorRate: 0.01, ThrottleRate: 0.01}}, Options{})
	req := withInference(userReq("What is the capital of France? Answer briefly."), 1024)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = s.Converse(context.Background(), call(), req)
		}
	})
}

func BenchmarkConverseToolUse(b *testing.B) {
	s := New(nil, Options{})
	req := userReq("What's the weather in Paris? Use get_weather.")
	req.ToolConfig = weatherTools(choiceAuto)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Converse(context.Background(), call(), req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmbed(b *testing.B) {
	s := New(nil, Options{})
	req := &provider.EmbedRequest{Inputs: []string{"The quick brown fox jumps over the lazy dog."}, Normalize: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Embed(context.Background(), call(), req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCountTokens(b *testing.B) {
	text := strings.Repeat("The quick brown fox jumps over the lazy dog, 12345 times. ", 100)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		CountTokens(text)
	}
}
