package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
)

const testModel = "test.model-v1:0"

func call() provider.Call { return provider.Call{RequestID: "req-1", ModelID: testModel} }

// userReq builds a one-message request.
func userReq(text string) *converse.Request {
	return &converse.Request{Messages: []converse.Message{
		{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock(text)}},
	}}
}

func withInference(req *converse.Request, maxTokens int, stops ...string) *converse.Request {
	req.InferenceConfig = &converse.InferenceConfig{MaxTokens: &maxTokens, StopSequences: stops}
	return req
}

func ptr[T any](v T) *T { return &v }

func mustConverse(t testing.TB, s *Simulator, req *converse.Request) *converse.Response {
	t.Helper()
	resp, err := s.Converse(context.Background(), call(), req)
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	return resp
}

func seeded(seed uint64) Options { return Options{Rand: rand.New(rand.NewPCG(seed, seed))} }

var prompts = []string{
	"Hello!",
	"What is the capital of France?",
	"Write a haiku about autumn leaves.",
	"Explain the difference between TCP and UDP in detail, with examples.",
	"x",
	"日本語で答えてください。",
	"Summarise: " + strings.Repeat("The meeting covered budgets and hiring. ", 20),
}

func TestDeterministic(t *testing.T) {
	s := New(nil, Options{})
	seen := map[string]string{}
	for _, p := range prompts {
		a := mustConverse(t, s, userReq(p))
		b := mustConverse(t, New(nil, Options{}), userReq(p)) // a fresh simulator too
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%q: two calls differ:\n%+v\n%+v", p, a, b)
		}
		// Inference parameters that do not cut the reply change nothing.
		c := mustConverse(t, s, withInference(userReq(p), 100000, "no such stop sequence"))
		if c.Text() != a.Text() || !reflect.DeepEqual(c.Usage, a.Usage) {
			t.Errorf("%q: inference parameters changed the reply", p)
		}
		if other, dup := seen[a.Text()]; dup {
			t.Errorf("prompts %q and %q got the same reply", p, other)
		}
		seen[a.Text()] = p
	}
	// The system prompt is part of the conversation.
	req := userReq(prompts[0])
	req.System = []converse.SystemContentBlock{{Text: ptr("You are terse.")}}
	if mustConverse(t, s, req).Text() == mustConverse(t, s, userReq(prompts[0])).Text() {
		t.Error("a system prompt did not change the reply")
	}
}

func TestReplyShape(t *testing.T) {
	s := New(nil, Options{})
	for _, p := range prompts {
		resp := mustConverse(t, s, userReq(p))
		msg := resp.Output.Message
		if msg == nil || msg.Role != converse.RoleAssistant || len(msg.Content) != 1 || msg.Content[0].Text == nil {
			t.Fatalf("%q: unexpected output %+v", p, resp.Output)
		}
		text := resp.Text()
		if resp.StopReason != converse.StopEndTurn || resp.StopSequence != "" {
			t.Errorf("%q: stop reason %q %q", p, resp.StopReason, resp.StopSequence)
		}
		if first := text[0]; first < 'A' || first > 'Z' {
			t.Errorf("%q: reply does not start with a capital: %q", p, text)
		}
		if strings.Contains(text, "  ") || strings.Contains(text, " ,") || strings.Contains(text, " .") {
			t.Errorf("%q: odd spacing in %q", p, text)
		}
		u := resp.Usage
		if u.OutputTokens < 20 || u.OutputTokens > 200 {
			t.Errorf("%q: natural length %d outside the default [20, 200]", p, u.OutputTokens)
		}
		if u.TotalTokens != u.InputTokens+u.OutputTokens || u.InputTokens <= 0 {
			t.Errorf("%q: usage %+v", p, u)
		}
		if resp.Metrics.LatencyMs != 0 {
			t.Errorf("%q: latency %d without configured latency", p, resp.Metrics.LatencyMs)
		}
	}
}

// TestOutputTokensMatchCountTokens is the tokenizer contract: the reported
// output tokens are the pieces of the reply, so counting the text again
// gives the same number.
func TestOutputTokensMatchCountTokens(t *testing.T) {
	settings := map[string]ModelSettings{
		"short": {MinReplyTokens: 1, MaxReplyTokens: 6},
		"exact": {MinReplyTokens: 37, MaxReplyTokens: 37},
		"long":  {MinReplyTokens: 500, MaxReplyTokens: 2000},
	}
	s := New(settings, Options{})
	for _, modelID := range []string{"short", "exact", "long", "unconfigured"} {
		m := s.model(modelID)
		for i := range 300 {
			req := userReq(fmt.Sprintf("prompt number %d about %s", i, modelID))
			resp, err := s.Converse(context.Background(), provider.Call{ModelID: modelID}, req)
			if err != nil {
				t.Fatal(err)
			}
			n := resp.Usage.OutputTokens
			if got := CountTokens(resp.Text()); got != n {
				t.Fatalf("%s/%d: CountTokens(reply) = %d, OutputTokens = %d\n%q", modelID, i, got, n, resp.Text())
			}
			if n < m.minReply || n > m.maxReply {
				t.Fatalf("%s/%d: natural length %d outside [%d, %d]", modelID, i, n, m.minReply, m.maxReply)
			}
			if modelID == "exact" && n != 37 {
				t.Fatalf("exact: got %d tokens", n)
			}
		}
	}
}

func TestMaxTokens(t *testing.T) {
	s := New(map[string]ModelSettings{testModel: {MinReplyTokens: 80, MaxReplyTokens: 80}}, Options{})
	prompt := "Tell me a story."
	full := mustConverse(t, s, userReq(prompt))
	if full.Usage.OutputTokens != 80 {
		t.Fatalf("natural length %d, want 80", full.Usage.OutputTokens)
	}
	for _, max := range []int{0, 1, 2, 7, 40, 79, 80, 81, 1000} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			resp := mustConverse(t, s, withInference(userReq(prompt), max))
			text := resp.Text()
			if !strings.HasPrefix(full.Text(), text) {
				t.Fatalf("%q is not a prefix of the uncut reply", text)
			}
			want, reason := min(max, 80), converse.StopMaxTokens
			if max >= 80 {
				reason = converse.StopEndTurn
			}
			if resp.Usage.OutputTokens != want || resp.StopReason != reason {
				t.Fatalf("got %d tokens, %q; want %d, %q", resp.Usage.OutputTokens, resp.StopReason, want, reason)
			}
			if CountTokens(text) != want {
				t.Fatalf("CountTokens(%q) = %d, want %d", text, CountTokens(text), want)
			}
		})
	}
	// Without InferenceConfig the budget is 4096 tokens.
	long := New(map[string]ModelSettings{testModel: {MinReplyTokens: 5000, MaxReplyTokens: 5000}}, Options{})
	if resp := mustConverse(t, long, userReq(prompt)); resp.Usage.OutputTokens != 4096 || resp.StopReason != converse.StopMaxTokens {
		t.Errorf("default budget: %d tokens, %q", resp.Usage.OutputTokens, resp.StopReason)
	}
}

func TestStopSequences(t *testing.T) {
	s := New(map[string]ModelSettings{testModel: {MinReplyTokens: 120, MaxReplyTokens: 120}}, Options{})
	prompt := "Describe the system architecture."
	full := mustConverse(t, s, userReq(prompt)).Text()
	pieces := appendPieces(nil, full)
	starts := make([]int, len(pieces))
	for i, off := 1, len(pieces[0]); i < len(pieces); i++ {
		starts[i] = off
		off += len(pieces[i])
	}
	// tokensBefore is what outputTokens must be for a cut at byte at: the
	// pieces that start before it, a partly emitted one included.
	tokensBefore := func(at int) int {
		n := 0
		for _, st := range starts {
			if st < at {
				n++
			}
		}
		return n
	}
	// Pick stop sequences from the reply itself: a whole word that occurs
	// first at a piece boundary, and the tail of a word (starting inside a
	// piece).
	var word, midPiece string
	for i := len(pieces) / 2; i < len(pieces) && (word == "" || midPiece == ""); i++ {
		p := pieces[i]
		if len(p) < 5 || p[0] != ' ' {
			continue
		}
		if word == "" && strings.Index(full, p) == starts[i] {
			word = p
		}
		if tail := p[2:]; midPiece == "" && strings.Index(full, tail) == starts[i]+2 {
			midPiece = tail
		}
	}
	if word == "" || midPiece == "" {
		t.Fatalf("no suitable stop sequences in %q", full)
	}
	wordAt, midAt := strings.Index(full, word), strings.Index(full, midPiece)
	earlier, later := word, midPiece
	earlierAt := wordAt
	if midAt < wordAt {
		earlier, later, earlierAt = midPiece, word, midAt
	}

	tests := []struct {
		name   string
		stops  []string
		at     int
		stop   string
		counts bool // whether CountTokens(text) must equal outputTokens
	}{
		{"whole word", []string{word}, wordAt, word, true},
		{"word without its space", []string{strings.TrimSpace(word)}, wordAt + 1, strings.TrimSpace(word), true},
		{"starts mid-piece", []string{midPiece}, midAt, midPiece, false},
		{"earliest of several", []string{later, "never occurs", earlier}, earlierAt, earlier, earlier == word},
		{"same place, shorter wins", []string{full[wordAt : wordAt+len(word)+2], word}, wordAt, word, true},
		{"at the very start", []string{full[:3]}, 0, full[:3], true},
		{"empty sequences ignored", []string{"", word}, wordAt, word, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := mustConverse(t, s, withInference(userReq(prompt), 4096, tt.stops...))
			if resp.StopReason != converse.StopSequence || resp.StopSequence != tt.stop {
				t.Fatalf("stop %q %q, want stop_sequence %q", resp.StopReason, resp.StopSequence, tt.stop)
			}
			if got, want := resp.Text(), full[:tt.at]; got != want {
				t.Fatalf("text %q, want %q", got, want)
			}
			if got, want := resp.Usage.OutputTokens, tokensBefore(tt.at); got != want {
				t.Fatalf("outputTokens %d, want %d", got, want)
			}
			if tt.counts && CountTokens(resp.Text()) != resp.Usage.OutputTokens {
				t.Fatalf("CountTokens(text) = %d, outputTokens %d", CountTokens(resp.Text()), resp.Usage.OutputTokens)
			}
		})
	}

	// A stop sequence beyond the maxTokens cut does not apply.
	resp := mustConverse(t, s, withInference(userReq(prompt), tokensBefore(wordAt), word))
	if resp.StopReason != converse.StopMaxTokens || resp.StopSequence != "" {
		t.Errorf("stop after the cut: %q %q", resp.StopReason, resp.StopSequence)
	}
}

func TestInputTokens(t *testing.T) {
	s := New(nil, Options{})
	input := func(req *converse.Request) int { return mustConverse(t, s, req).Usage.InputTokens }

	base := input(userReq("Hello world"))
	if base != 1+3+2 {
		t.Errorf("one two-token message: %d input tokens, want 6", base)
	}
	if long := input(userReq("Hello world" + strings.Repeat(" and more words", 100))); long != base+300 {
		t.Errorf("300 more tokens of prompt: %d, want %d", long, base+300)
	}

	sys := userReq("Hello world")
	sys.System = []converse.SystemContentBlock{{Text: ptr("You are a helpful assistant.")}, {CachePoint: &converse.CachePointBlock{Type: "default"}}}
	if got, want := input(sys), base+CountTokens("You are a helpful assistant."); got != want {
		t.Errorf("with system: %d, want %d", got, want)
	}

	tools := userReq("Hello world")
	schema := `{"type":"object","properties":{"city":{"type":"string"}}}`
	tools.ToolConfig = &converse.ToolConfig{Tools: []converse.Tool{{ToolSpec: &converse.ToolSpec{
		Name: "get_weather", Description: "Get the weather.", InputSchema: converse.ToolInputSchema{JSON: json.RawMessage(schema)},
	}}}}
	if got, want := input(tools), base+CountTokens("get_weather")+CountTokens("Get the weather.")+CountTokens(schema); got != want {
		t.Errorf("with tools: %d, want %d", got, want)
	}

	withBlock := func(b converse.ContentBlock) int {
		req := userReq("Hello world")
		req.Messages[0].Content = append(req.Messages[0].Content, b)
		return input(req) - base
	}
	blockTests := []struct {
		name  string
		block converse.ContentBlock
		want  int
	}{
		{"small image", converse.ContentBlock{Image: &converse.ImageBlock{Format: "png", Source: converse.ImageSource{Bytes: make([]byte, 1000)}}}, 85},
		{"large image", converse.ContentBlock{Image: &converse.ImageBlock{Format: "png", Source: converse.ImageSource{Bytes: make([]byte, 750_000)}}}, 1000},
		{"S3 image", converse.ContentBlock{Image: &converse.ImageBlock{Format: "png", Source: converse.ImageSource{S3Location: json.RawMessage(`{"uri":"s3://b/k"}`)}}}, 1600},
		{"text document", converse.ContentBlock{Document: &converse.DocumentBlock{Name: "notes", Source: converse.DocumentSource{Text: ptr("one two three")}}}, 1 + 3},
		{"binary document", converse.ContentBlock{Document: &converse.DocumentBlock{Format: "pdf", Name: "report", Source: converse.DocumentSource{Bytes: make([]byte, 4001)}}}, 1 + 1001},
		{"tool use", converse.ContentBlock{ToolUse: &converse.ToolUseBlock{ToolUseID: "t1", Name: "lookup", Input: json.RawMessage(`{"q":"x"}`)}}, 1 + CountTokens(`{"q":"x"}`)},
		{"tool result", converse.ContentBlock{ToolResult: &converse.ToolResultBlock{ToolUseID: "t1", Content: []converse.ToolResultContentBlock{{Text: ptr("sunny and warm")}, {JSON: json.RawMessage(`{"t":21}`)}}}}, 3 + CountTokens(`{"t":21}`)},
		{"cache point", converse.ContentBlock{CachePoint: &converse.CachePointBlock{Type: "default"}}, 0},
	}
	for _, tt := range blockTests {
		if got := withBlock(tt.block); got != tt.want {
			t.Errorf("%s: adds %d input tokens, want %d", tt.name, got, tt.want)
		}
	}

	// Each further message costs its overhead and content.
	conv := userReq("Hello world")
	conv.Messages = append(conv.Messages,
		converse.Message{Role: converse.RoleAssistant, Content: []converse.ContentBlock{converse.TextBlock("Hi.")}},
		converse.Message{Role: converse.RoleUser, Content: []converse.ContentBlock{converse.TextBlock("More")}})
	if got, want := input(conv), base+3+2+3+1; got != want {
		t.Errorf("three messages: %d, want %d", got, want)
	}
}

func TestEcho(t *testing.T) {
	s := New(map[string]ModelSettings{testModel: {Reply: ReplyEcho}}, Options{})
	text := "Repeat after me: the quick brown fox, 12345 times!"
	resp := mustConverse(t, s, userReq(text))
	if resp.Text() != text || resp.Usage.OutputTokens != CountTokens(text) || resp.StopReason != converse.StopEndTurn {
		t.Fatalf("echo: %q, %d tokens, %q", resp.Text(), resp.Usage.OutputTokens, resp.StopReason)
	}

	// The last user message counts, all of its text blocks.
	req := userReq("first question")
	req.Messages = append(req.Messages,
		converse.Message{Role: converse.RoleAssistant, Content: []converse.ContentBlock{converse.TextBlock("an answer")}},
		converse.Message{Role: converse.RoleUser, Content: []converse.ContentBlock{
			converse.TextBlock("second "), {CachePoint: &converse.CachePointBlock{Type: "default"}}, converse.TextBlock("question")}})
	if got := mustConverse(t, s, req).Text(); got != "second question" {
		t.Errorf("echo of the last user message: %q", got)
	}

	if resp := mustConverse(t, s, withInference(userReq(text), 4)); resp.Text() != "Repeat after me:" || resp.StopReason != converse.StopMaxTokens {
		t.Errorf("echo cut at 4 tokens: %q %q", resp.Text(), resp.StopReason)
	}
	if resp := mustConverse(t, s, withInference(userReq(text), 100, "brown")); resp.Text() != "Repeat after me: the quick " || resp.StopSequence != "brown" {
		t.Errorf("echo with a stop sequence: %q %q", resp.Text(), resp.StopSequence)
	}
}

func TestToolResultReply(t *testing.T) {
	s := New(nil, Options{})
	req := userReq("What's the weather in Paris? Use get_weather.")
	req.ToolConfig = weatherTools(choiceAuto)
	req.Messages = append(req.Messages,
		converse.Message{Role: converse.RoleAssistant, Content: []converse.ContentBlock{{ToolUse: &converse.ToolUseBlock{
			ToolUseID: "tooluse_abc", Name: "get_weather", Input: json.RawMessage(`{"location":"Paris","unit":"celsius"}`)}}}},
		converse.Message{Role: converse.RoleUser, Content: []converse.ContentBlock{{ToolResult: &converse.ToolResultBlock{
			ToolUseID: "tooluse_abc", Content: []converse.ToolResultContentBlock{{JSON: json.RawMessage(`{"temp":21}`)}}}}}},
	)
	resp := mustConverse(t, s, req)
	if resp.StopReason != converse.StopEndTurn || len(resp.Output.Message.Content) != 1 || resp.Output.Message.Content[0].Text == nil {
		t.Fatalf("reply to a tool result: %q %+v", resp.StopReason, resp.Output.Message.Content)
	}
	if !strings.Contains(resp.Text(), "get_weather") {
		t.Errorf("reply does not mention the tool: %q", resp.Text())
	}
	if CountTokens(resp.Text()) != resp.Usage.OutputTokens {
		t.Errorf("CountTokens = %d, outputTokens = %d", CountTokens(resp.Text()), resp.Usage.OutputTokens)
	}

	req.Messages[2].Content[0].ToolResult.Status = "error"
	if got := mustConverse(t, s, req).Text(); !strings.HasPrefix(got, "The get_weather call reported an error.") {
		t.Errorf("reply to a failed tool: %q", got)
	}
}

func TestInjectedFailureRates(t *testing.T) {
	const calls = 2000
	tests := []struct {
		name              string
		settings          ModelSettings
		throttles, errors float64 // expected fractions
	}{
		{"none", ModelSettings{}, 0, 0},
		{"errors", ModelSettings{ErrorRate: 0.25}, 0, 0.25},
		{"throttles", ModelSettings{ThrottleRate: 0.1}, 0.1, 0},
		{"both", ModelSettings{ErrorRate: 0.2, ThrottleRate: 0.3, ErrorCode: "ServiceUnavailableException"}, 0.3, 0.2},
		{"always errors", ModelSettings{ErrorRate: 1}, 0, 1},
		{"always throttles", ModelSettings{ThrottleRate: 1}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(map[string]ModelSettings{testModel: tt.settings}, seeded(42))
			var throttles, errs, ok int
			for i := range calls {
				_, err := s.Converse(context.Background(), call(), userReq(fmt.Sprint("call ", i)))
				var ae *apierror.Error
				switch {
				case err == nil:
					ok++
				case !errors.As(err, &ae):
					t.Fatalf("error is not an *apierror.Error: %v", err)
				case ae.Code == apierror.Throttling:
					throttles++
				default:
					errs++
				}
			}
			check := func(what string, got int, p float64) {
				// Five standard deviations: never flaky, still tight.
				tol := 5 * math.Sqrt(calls*p*(1-p))
				if math.Abs(float64(got)-calls*p) > tol {
					t.Errorf("%s: %d of %d, want about %.0f (±%.0f)", what, got, calls, calls*p, tol)
				}
			}
			check("throttles", throttles, tt.throttles)
			check("errors", errs, tt.errors)
			check("successes", ok, 1-tt.throttles-tt.errors)
		})
	}
}

func TestInjectedErrors(t *testing.T) {
	tests := []struct {
		code    string
		want    apierror.Code
		status  int
		message string
	}{
		{"", apierror.InternalServer, 500, "The system encountered an unexpected error during processing. Try your request again."},
		{"InternalServerException", apierror.InternalServer, 500, "The system encountered an unexpected error during processing. Try your request again."},
		{"ServiceUnavailableException", apierror.ServiceUnavailable, 503, "Bedrock is unable to process your request."},
		{"ModelErrorException", apierror.ModelError, 424, "The model returned an error while processing the request. Try your request again."},
		{"ModelTimeoutException", apierror.ModelTimeout, 408, "Model has timed out in processing the request. Try your request again."},
		{"ModelNotReadyException", apierror.ModelNotReady, 429, "Model is not ready for inference. Wait and try your request again."},
		{"ValidationException", apierror.Validation, 400, "Malformed input request, please reformat your input and try again."},
	}
	for _, tt := range tests {
		t.Run(string(tt.want), func(t *testing.T) {
			s := New(map[string]ModelSettings{testModel: {ErrorRate: 1, ErrorCode: tt.code}}, seeded(1))
			for _, op := range []string{"converse", "embed"} {
				var err error
				if op == "converse" {
					_, err = s.Converse(context.Background(), call(), userReq("hi"))
				} else {
					_, err = s.Embed(context.Background(), call(), &provider.EmbedRequest{Inputs: []string{"hi"}})
				}
				var ae *apierror.Error
				if !errors.As(err, &ae) {
					t.Fatalf("%s: got %v, want an *apierror.Error", op, err)
				}
				if ae.Code != tt.want || ae.Status() != tt.status || ae.Message != tt.message {
					t.Errorf("%s: got %s %d %q", op, ae.Code, ae.Status(), ae.Message)
				}
				if tt.want == apierror.ModelError && (ae.OriginalStatusCode != 500 || ae.ResourceName != testModel) {
					t.Errorf("%s: ModelErrorException without origin: %+v", op, ae)
				}
			}
		})
	}

	s := New(map[string]ModelSettings{testModel: {ThrottleRate: 1}}, seeded(1))
	_, err := s.Converse(context.Background(), call(), userReq("hi"))
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != apierror.Throttling || ae.Status() != 429 ||
		ae.Message != "Too many requests, please wait before trying again." || !ae.Throttled() {
		t.Errorf("throttle: %#v", err)
	}
}

func TestLatency(t *testing.T) {
	slow := map[string]ModelSettings{
		"slow-start": {TimeToFirstToken: time.Hour},
		"slow-gen":   {TimePerOutputToken: time.Minute},
	}
	s := New(slow, Options{})
	for _, modelID := range []string{"slow-start", "slow-gen"} {
		t.Run(modelID+"/deadline", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			_, err := s.Converse(ctx, provider.Call{ModelID: modelID}, userReq("hi"))
			var ae *apierror.Error
			if !errors.As(err, &ae) || ae.Code != apierror.ModelTimeout ||
				ae.Message != "Model has timed out in processing the request. Try your request again." {
				t.Fatalf("got %v, want ModelTimeoutException", err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("cause lost: %v", err)
			}
		})
		t.Run(modelID+"/cancel", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				time.Sleep(5 * time.Millisecond)
				cancel()
			}()
			_, err := s.Converse(ctx, provider.Call{ModelID: modelID}, userReq("hi"))
			var ae *apierror.Error
			if !errors.Is(err, context.Canceled) || !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *apierror.Error wrapping context.Canceled", err)
			}
		})
	}
	t.Run("embed deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		_, err := s.Embed(ctx, provider.Call{ModelID: "slow-start"}, &provider.EmbedRequest{Inputs: []string{"x"}})
		if ae := apierror.From(err); ae == nil || ae.Code != apierror.ModelTimeout {
			t.Fatalf("got %v, want ModelTimeoutException", err)
		}
	})
	t.Run("already canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := New(nil, Options{}).Converse(ctx, call(), userReq("hi"))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
	t.Run("reported latency", func(t *testing.T) {
		fast := New(map[string]ModelSettings{testModel: {TimeToFirstToken: time.Millisecond, TimePerOutputToken: 10 * time.Microsecond}}, Options{})
		resp := mustConverse(t, fast, userReq("hi"))
		want := (time.Millisecond + time.Duration(resp.Usage.OutputTokens)*10*time.Microsecond).Milliseconds()
		if resp.Metrics.LatencyMs != want {
			t.Errorf("LatencyMs = %d, want %d", resp.Metrics.LatencyMs, want)
		}
	})
}

// TestConcurrent runs calls in parallel (meaningful under -race) and checks
// they all get the deterministic reply.
func TestConcurrent(t *testing.T) {
	s := New(map[string]ModelSettings{testModel: {ErrorRate: 0.2, ThrottleRate: 0.2}}, seeded(7))
	want := New(nil, Options{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				req := userReq(prompts[(g+i)%len(prompts)])
				resp, err := s.Converse(context.Background(), call(), req)
				if err != nil {
					if apierror.From(err).Code == apierror.InternalServer || apierror.From(err).Code == apierror.Throttling {
						continue
					}
					t.Errorf("unexpected error %v", err)
					return
				}
				if resp.Text() != mustConverse(t, want, req).Text() {
					t.Errorf("concurrent reply differs for %q", prompts[(g+i)%len(prompts)])
				}
				if _, err := s.Embed(context.Background(), call(), &provider.EmbedRequest{Inputs: []string{"a", "b"}}); err != nil && apierror.From(err).Code != apierror.InternalServer && apierror.From(err).Code != apierror.Throttling {
					t.Errorf("embed: %v", err)
				}
			}
		})
	}
	wg.Wait()
}

func TestNilRequest(t *testing.T) {
	s := New(nil, Options{})
	if _, err := s.Converse(context.Background(), call(), nil); apierror.From(err).Code != apierror.Validation {
		t.Errorf("nil request: %v", err)
	}
	// An empty conversation still gets a reply.
	if resp := mustConverse(t, s, &converse.Request{}); resp.Usage.OutputTokens == 0 {
		t.Error("no reply to an empty request")
	}
}
