package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider/simulator"
	"github.com/modelwatch/modelwatch/internal/server"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// recorder is an Observer that keeps every Invocation.
type recorder struct {
	mu   sync.Mutex
	invs []*invocation.Invocation
	shut bool
}

func (r *recorder) Observe(inv *invocation.Invocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invs = append(r.invs, inv)
}

func (r *recorder) Shutdown(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shut = true
	return nil
}

// byRequestID returns the invocations recorded with the request ID; exactly
// one is expected for every call.
func (r *recorder) byRequestID(t *testing.T, id string) *invocation.Invocation {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var found []*invocation.Invocation
	for _, inv := range r.invs {
		if inv.RequestID == id {
			found = append(found, inv)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d invocations recorded for request %q, want exactly 1", len(found), id)
	}
	return found[0]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.invs)
}

// Test-only models that exercise failure paths through the simulator.
const (
	modelThrottled  = "modelwatch.throttled-v1"
	modelFailing    = "modelwatch.failing-v1"
	modelModelError = "modelwatch.model-error-v1"
	modelSlow       = "modelwatch.slow-v1"
	modelStreamFail = "modelwatch.stream-fail-v1"
	modelTrickle    = "modelwatch.trickle-v1"
	haiku           = "anthropic.claude-3-haiku-20240307-v1:0"
)

func failureModels() []config.Model {
	m := func(id string, s simulator.ModelSettings, timeout time.Duration) config.Model {
		return config.Model{Model: catalog.Model{ID: id, Name: id, Vendor: "modelwatch", Family: "anthropic", Provider: "simulator",
			MaxOutputTokens: 1000, DefaultMaxTokens: 100, Timeout: timeout, Streaming: true, Tools: true, SystemPrompt: true}, Simulator: s}
	}
	return []config.Model{
		m(modelThrottled, simulator.ModelSettings{ThrottleRate: 1}, 0),
		m(modelFailing, simulator.ModelSettings{ErrorRate: 1}, 0),
		m(modelModelError, simulator.ModelSettings{ErrorRate: 1, ErrorCode: "ModelErrorException"}, 0),
		m(modelSlow, simulator.ModelSettings{TimeToFirstToken: time.Minute}, 200*time.Millisecond),
		m(modelStreamFail, simulator.ModelSettings{StreamErrorRate: 1, MinReplyTokens: 40, MaxReplyTokens: 40}, 0),
		m(modelTrickle, simulator.ModelSettings{TimePerOutputToken: 20 * time.Millisecond, MinReplyTokens: 500, MaxReplyTokens: 500}, 0),
	}
}

// startServer runs a server on the embedded defaults (with simulated
// latency removed, so the suite is fast) on a random loopback port.
func startServer(t testing.TB, mutate func(*config.Config)) (*server.Server, *recorder) {
	return startServerWith(t, mutate, server.Options{})
}

// startServerWith is startServer with server options (the recorder is
// added to opts.Observers).
func startServerWith(t testing.TB, mutate func(*config.Config), opts server.Options) (*server.Server, *recorder) {
	t.Helper()
	cfg := testConfig(t)
	cfg.Models = append(cfg.Models, failureModels()...)
	if mutate != nil {
		mutate(cfg)
	}
	rec := &recorder{}
	opts.Observers = append(opts.Observers, rec)
	srv, stop := runServerWith(t, cfg, opts)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	hc := http.DefaultClient
	if cfg.TLS.Enabled() {
		pem, err := os.ReadFile(cfg.TLS.CertFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	waitHealthy(t, srv.URL(), hc)
	return srv, rec
}

// testConfig is the embedded defaults on a random loopback port and a
// fresh data directory, with simulated latency removed (so the suite is
// fast) and fast, hermetic logging delivery.
func testConfig(t testing.TB) *config.Config {
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	// Hermetic unless a test points logging at MinIO: AWS variables of the
	// machine running the tests must not send logs anywhere.
	cfg.InvocationLogging.Store = objectstore.ModeLocal
	cfg.InvocationLogging.FlushInterval = 100 * time.Millisecond
	cfg.InvocationLogging.RetryMin = 50 * time.Millisecond
	cfg.InvocationLogging.RetryMax = 500 * time.Millisecond
	cfg.InvocationLogging.Spool.SegmentBytes = 4 << 20
	for i := range cfg.Models {
		cfg.Models[i].Simulator.TimeToFirstToken = 0
		cfg.Models[i].Simulator.TimePerOutputToken = 0
	}
	return cfg
}

// runServer starts a server with the observers; stop shuts it down as
// SIGTERM would and returns Run's result.
func runServer(t testing.TB, cfg *config.Config, observers ...invocation.Observer) (srv *server.Server, stop func() error) {
	t.Helper()
	return runServerWith(t, cfg, server.Options{Observers: observers})
}

// runServerWith is runServer with server options.
func runServerWith(t testing.TB, cfg *config.Config, opts server.Options) (srv *server.Server, stop func() error) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := server.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	return srv, func() error { cancel(); return <-done }
}

func waitHealthy(t testing.TB, base string, hc *http.Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s/healthz never answered 200", base)
}

// runtimeClient is an unmodified SDK client with an endpoint override. It
// does not retry, so each call is one request, and it records the raw
// response headers in the result metadata (read them with rawHeader).
func runtimeClient(url, keyID, secret string, optFns ...func(*bedrockruntime.Options)) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		RetryMaxAttempts: 1,
		APIOptions:       []func(*middleware.Stack) error{captureResponseHeaders},
	}, optFns...)
}

type responseHeadersKey struct{}

func captureResponseHeaders(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("captureResponseHeaders",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
				md.Set(responseHeadersKey{}, resp.Header.Clone())
			}
			return out, md, err
		}), middleware.After)
}

func controlClient(url, keyID, secret string) *bedrock.Client {
	return bedrock.New(bedrock.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		RetryMaxAttempts: 1,
	})
}

// metric returns the value of the counter (or the sample count of the
// histogram) with the name whose labels include want; 0 when absent.
func metric(t *testing.T, srv *server.Server, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := labels(m.GetLabel())
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			default:
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// last returns the most recent invocation.
func (r *recorder) last(t *testing.T) *invocation.Invocation {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.invs) == 0 {
		t.Fatal("no invocation recorded")
	}
	return r.invs[len(r.invs)-1]
}

// upstreamCredentials gives the process the static AWS credentials a
// front server's bedrock provider signs its calls to a back server with,
// and nothing from the machine's AWS configuration.
func upstreamCredentials(t *testing.T) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDUPSTREAM")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "upstream-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// setModels routes the given models as a test needs: an entry of the default
// catalog with the same ID is replaced (the catalog refuses an ID defined
// twice), any other is added.
func setModels(c *config.Config, models ...config.Model) {
	for _, m := range models {
		i := slices.IndexFunc(c.Models, func(d config.Model) bool { return d.ID == m.ID })
		if i >= 0 {
			c.Models[i] = m
		} else {
			c.Models = append(c.Models, m)
		}
	}
}
