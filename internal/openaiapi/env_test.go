package openaiapi

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
)

// Test credentials. The API key is long enough to be found if it leaked
// into any response or record.
const (
	testAPIKey    = "mw-test-key-0123456789abcdefghij"
	testAccessKey = "AKIDOPENAITEST000001"
	testSecret    = "openai-test-secret-key-value-000000000000"
	testRegion    = "us-east-1"
)

// Catalog models of the test gateway.
const (
	modelHaiku       = "anthropic.claude-3-haiku-20240307-v1:0"
	modelEmbed       = "amazon.titan-embed-text-v2:0"
	modelPlain       = "meta.llama3-8b-instruct-v1:0" // no tools, no system prompt, no streaming, no images
	modelStreamFail  = "modelwatch.stream-fail-v1"
	modelSlowStream  = "modelwatch.slow-stream-v1"
	modelThrottled   = "modelwatch.throttled-v1"
	slowReplyTokens  = 2000
	haikuDefaultMax  = 512
	haikuMaxOutput   = 4096
	defaultTestLimit = 1 << 20
)

// simSettings are the simulator settings of the test models.
var simSettings = map[string]simulator.ModelSettings{
	modelStreamFail: {StreamErrorRate: 1, MinReplyTokens: 40, MaxReplyTokens: 40},
	modelSlowStream: {TimePerOutputToken: 2 * time.Millisecond, MinReplyTokens: slowReplyTokens, MaxReplyTokens: slowReplyTokens},
	modelThrottled:  {ThrottleRate: 1},
}

func testModels() []*catalog.Model {
	chat := func(id string) *catalog.Model {
		return &catalog.Model{ID: id, Name: id, Vendor: "Anthropic", Family: "anthropic", Provider: "simulator", UpstreamModel: id,
			InputModalities: []string{"TEXT", "IMAGE"}, OutputModalities: []string{"TEXT"}, Streaming: true, Tools: true, SystemPrompt: true,
			MaxOutputTokens: haikuMaxOutput, DefaultMaxTokens: haikuDefaultMax, Timeout: time.Minute}
	}
	haiku := chat(modelHaiku)
	haiku.Aliases = []string{"haiku"}
	return []*catalog.Model{
		haiku,
		{ID: modelEmbed, Name: "Titan Embeddings", Vendor: "Amazon", Family: "titan-embed", Provider: "simulator", UpstreamModel: modelEmbed,
			InputModalities: []string{"TEXT"}, OutputModalities: []string{"EMBEDDING"}, Timeout: time.Minute},
		{ID: modelPlain, Name: "Llama", Vendor: "Meta", Family: "llama", Provider: "simulator", UpstreamModel: modelPlain,
			InputModalities: []string{"TEXT"}, OutputModalities: []string{"TEXT"}, MaxOutputTokens: 2048, DefaultMaxTokens: 512, Timeout: time.Minute},
		chat(modelStreamFail),
		chat(modelSlowStream),
		chat(modelThrottled),
	}
}

// recorder keeps every Invocation.
type recorder struct {
	mu   sync.Mutex
	invs []*invocation.Invocation
}

func (r *recorder) Observe(inv *invocation.Invocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invs = append(r.invs, inv)
}

// get returns the one Invocation with the request ID, waiting for it when
// the handler finishes after the client stopped reading. The wait only
// guards against a hang; nothing is timed.
func (r *recorder) get(t *testing.T, requestID string) *invocation.Invocation {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		var found []*invocation.Invocation
		for _, inv := range r.invs {
			if inv.RequestID == requestID {
				found = append(found, inv)
			}
		}
		r.mu.Unlock()
		if len(found) > 1 {
			t.Fatalf("%d invocations recorded for request %q, want 1", len(found), requestID)
		}
		if len(found) == 1 {
			return found[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no invocation recorded for request %q", requestID)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.invs)
}

// env is a running OpenAI front door over a real gateway and simulator.
type env struct {
	srv    *httptest.Server
	gw     *gateway.Gateway
	rec    *recorder
	client oai.Client
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	return newEnvWith(t, opts, nil, nil)
}

// newEnvWith adds models and the providers they route to.
func newEnvWith(t *testing.T, opts Options, models []*catalog.Model, providers map[string]provider.Provider) *env {
	t.Helper()
	cat, err := catalog.New(testRegion, "000000000000", append(testModels(), models...))
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New([]auth.Principal{{
		Name:       "alice",
		APIKeys:    []auth.Secret{testAPIKey},
		AccessKeys: []auth.AccessKey{{ID: testAccessKey, Secret: testSecret}},
	}}, auth.Options{Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	sim := simulator.New(simSettings, simulator.Options{})
	rec := &recorder{}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	all := map[string]provider.Provider{"simulator": sim}
	for name, p := range providers {
		all[name] = p
	}
	gw, err := gateway.New(gateway.Options{Catalog: cat, Auth: authn, Providers: all,
		Observers: []invocation.Observer{rec}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = logger
	}
	if opts.MaxRequestBytes == 0 {
		opts.MaxRequestBytes = defaultTestLimit
	}
	srv := httptest.NewServer(New(gw, opts))
	t.Cleanup(srv.Close)
	client := oai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey(testAPIKey), option.WithMaxRetries(0))
	return &env{srv: srv, gw: gw, rec: rec, client: client}
}
