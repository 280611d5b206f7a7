package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	brtypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/modelwatch/modelwatch/internal/clientsuite"
	"github.com/modelwatch/modelwatch/internal/cmdtest"
	"github.com/modelwatch/modelwatch/internal/cost"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/invocationlog"
	"github.com/modelwatch/modelwatch/internal/logquery"
	"github.com/modelwatch/modelwatch/internal/minio/miniotest"
	"github.com/modelwatch/modelwatch/internal/servicetest"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
	"github.com/modelwatch/modelwatch/internal/webui/webuitest"
)

// The cluster test's principal (one SigV4 key pair, sealed in the shared
// configuration, and one API key, hashed there) and its models: each
// phase uses its own, so that one phase's counters are not another's.
const (
	clusterAK      = "AKIACLUSTERTEST00001"
	clusterSK      = "cluster-test-secret-key-0123456789abcdefgh"
	clusterAPIKey  = "cluster-test-api-key-0123456789abcdef"
	clusterSecrets = "cluster-test-secrets-key-0123456789abcdef"

	quotaModel   = "amazon.titan-text-express-v1"     // 20 requests per minute, cluster-wide
	budgetModel  = "meta.llama3-8b-instruct-v1:0"     // a hard-limit budget
	killModel    = "amazon.nova-lite-v1:0"            // the kill -9 drill's load
	reconModel   = "amazon.nova-micro-v1:0"           // spend across a Redis restart
	outageModel  = "amazon.titan-text-premier-v1:0"   // load while PostgreSQL is down
	countedModel = "mistral.mistral-7b-instruct-v0:2" // counted on the dashboard
	warmModel    = "meta.llama3-1-70b-instruct-v1:0"  // the first signed call of each replica
	clusterLogs  = "cluster-logs"
	quotaRPM     = 20
	budgetNano   = 100_000 // $0.0001: a handful of Llama 3 8B calls
)

// governanceYAML is the governance the first replica's file holds; the
// others' files hold none: they get it from PostgreSQL.
func governanceYAML(rpm int, hook string) string {
	return fmt.Sprintf(`auth:
  principals:
    - name: app
      accessKeys: [{id: %s, secret: %s}]
      apiKeys: ["%s"]
      allow: ["*"]
quotas:
  - name: titan-rpm
    model: %s
    requestsPerMinute: %d
budgets:
  - name: llama-cap
    type: COST
    limit: 0.0001
    timeUnit: DAILY
    hardLimit: true
    filter: {models: ["%s"]}
    notifications:
      - {type: ACTUAL, comparisonOperator: GREATER_THAN, threshold: 50, subscribers: {webhooks: ["%s"]}}
  - name: nova-spend
    type: COST
    limit: 1000
    timeUnit: DAILY
    filter: {models: ["%s"]}
alarms:
  - name: titan-throttled
    metric: {name: InvocationThrottles, statistic: Sum, dimensions: {ModelId: %s}}
    period: 10s
    evaluationPeriods: 3    # 1 of the last 3: a leader handover (the kill drill) skips no breach
    datapointsToAlarm: 1
    threshold: 0
    comparisonOperator: GreaterThanThreshold
    treatMissingData: notBreaching
    actions: {alarmWebhooks: ["%s"]}
`, clusterAK, clusterSK, clusterAPIKey, quotaModel, rpm, budgetModel, hook, reconModel, quotaModel, hook)
}

// hooks receives the cluster's webhook notifications (SNS envelopes):
// subject → how many arrived.
type hooks struct {
	mu       sync.Mutex
	subjects map[string]int
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var env struct{ Subject, Message string }
	_ = json.NewDecoder(r.Body).Decode(&env)
	h.mu.Lock()
	h.subjects[env.Subject]++
	h.mu.Unlock()
}

func (h *hooks) count(subjectPart string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for s, c := range h.subjects {
		if strings.Contains(s, subjectPart) {
			n += c
		}
	}
	return n
}

func (h *hooks) all() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.subjects)
}

// replica is one `modelwatch serve` of the cluster.
type replica struct {
	name, url, cfgFile string
	metricsPort        int
	env                []string
	proc               *cmdtest.Process
	runtime            *bedrockruntime.Client
	control            *bedrock.Client
}

type clusterRig struct {
	t        *testing.T
	bin      string
	pg       *servicetest.Postgres
	redis    *servicetest.Redis
	minio    *miniotest.Server
	prices   *cost.PriceList
	replicas []*replica
	promURL  string
	hooks    *hooks
}

// TestClusterOfThreeReplicas is issue 18's cluster drill: three `serve`
// processes sharing configuration on a real PostgreSQL and quota and
// budget counters on a real Redis, logging to MinIO, scraped by Debian's
// Prometheus, driven round robin by the AWS SDK as a load balancer would.
func TestClusterOfThreeReplicas(t *testing.T) {
	rig := startCluster(t)

	t.Run("the shared configuration reaches replicas whose files have none", rig.sharedGovernance)
	t.Run("a second replica on another replica's data directory is refused", rig.sharedDirRefused)
	t.Run("a logging configuration put on one replica applies on all", rig.loggingPutAppliesEverywhere)
	t.Run("a quota holds across replicas under concurrent load", rig.quotaAcrossReplicas)
	t.Run("a budget's hard limit holds across replicas under concurrent load", rig.budgetAcrossReplicas)
	t.Run("kill -9 of a replica under load loses and duplicates no record", rig.killOneReplica)
	t.Run("Redis restarted mid-load: calls go on and the spend is reconciled", rig.redisRestart)
	t.Run("PostgreSQL stopped for 30 s: replicas serve on and catch up", rig.postgresOutage)
	t.Run("the dashboard, reading Prometheus, shows every replica's calls", rig.dashboardSumsReplicas)
	t.Run("an alarm and a budget notification are sent once for the cluster", rig.notifiedOnce)
}

// notifiedOnce: the alarm on the quota phase's throttles (summed over the
// replicas from Prometheus) and the budget's 50 % notification were each
// sent once, by whichever replica led the duty, across the kill, the
// Redis restart and the PostgreSQL outage.
func (rig *clusterRig) notifiedOnce(t *testing.T) {
	defer func() {
		if t.Failed() {
			for _, r := range rig.replicas {
				for _, l := range strings.Split(r.proc.Log(), "\n") {
					if strings.Contains(l, "alarm") || strings.Contains(l, "leader") || strings.Contains(l, "evaluates") {
						t.Logf("%s: %s", r.name, l)
					}
				}
			}
		}
	}()
	rig.eventually(t, 30*time.Second, func() error {
		if rig.hooks.count(`ALARM: "titan-throttled"`) == 0 {
			return fmt.Errorf("no ALARM notification for titan-throttled yet: %v", rig.hooks.all())
		}
		return nil
	})
	time.Sleep(2 * time.Second) // a second sender would have sent by now
	if n := rig.hooks.count(`ALARM: "titan-throttled"`); n != 1 {
		t.Errorf("%d ALARM notifications for titan-throttled, want 1: %v", n, rig.hooks.all())
	}
	if n := rig.hooks.count("llama-cap"); n != 1 {
		t.Errorf("%d notifications for the budget llama-cap, want 1: %v", n, rig.hooks.all())
	}
	t.Logf("webhooks received: %v", rig.hooks.all())
}

func startCluster(t *testing.T) *clusterRig {
	var err error
	rig := &clusterRig{t: t, bin: buildBinary(t), hooks: &hooks{subjects: map[string]int{}}}
	hookSrv := httptest.NewServer(rig.hooks)
	t.Cleanup(hookSrv.Close)
	rig.pg = servicetest.StartPostgres(t)
	dbURL := rig.pg.CreateDatabase(t, "modelwatch")
	rig.redis = servicetest.StartRedis(t)
	rig.minio = miniotest.Start(t)
	rig.minio.CreateBucket(t, clusterLogs)
	if rig.prices, err = cost.Load(cost.Prices{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Prometheus scrapes the replicas' metrics listeners every second,
	// from before they start.
	metricsPorts := []int{servicetest.FreePort(t), servicetest.FreePort(t), servicetest.FreePort(t)}
	var targets []string
	for _, p := range metricsPorts {
		targets = append(targets, fmt.Sprintf("%q", fmt.Sprintf("127.0.0.1:%d", p)))
	}
	rig.promURL = servicetest.StartPrometheus(t, "global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: modelwatch\n    static_configs: [{targets: ["+strings.Join(targets, ", ")+"]}]\n")
	for i := range 3 {
		r := &replica{name: fmt.Sprintf("r%d", i), metricsPort: metricsPorts[i]}
		port := servicetest.FreePort(t)
		r.url = fmt.Sprintf("http://127.0.0.1:%d", port)
		yaml := fmt.Sprintf(`listen: 127.0.0.1:%d
dataDir: %s
cluster:
  replica: %s
  postgres: %s
  redis: %s
  secretsKey: %s
metrics:
  listen: 127.0.0.1:%d
  replicaLabel: true
  prometheusURL: %s
invocationLogging:
  store: s3
  flushInterval: 100ms
  maxBatchRecords: 50
  retryMin: 50ms
  retryMax: 500ms
`, port, filepath.Join(dir, r.name), r.name, dbURL, rig.redis.URL, clusterSecrets, r.metricsPort, rig.promURL)
		if i == 0 {
			yaml += governanceYAML(quotaRPM, hookSrv.URL)
		}
		r.cfgFile = filepath.Join(dir, r.name+".yaml")
		if err := os.WriteFile(r.cfgFile, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		r.env = append(rig.minio.Env(), "MODELWATCH_CONFIG="+r.cfgFile)
		creds := credentials.NewStaticCredentialsProvider(clusterAK, clusterSK, "")
		r.runtime = bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(r.url), Credentials: creds, RetryMaxAttempts: 1})
		r.control = bedrock.New(bedrock.Options{Region: "us-east-1", BaseEndpoint: aws.String(r.url), Credentials: creds, RetryMaxAttempts: 1})
		rig.replicas = append(rig.replicas, r)
	}
	// The first replica seeds the shared configuration from its file; the
	// others start together and read it.
	rig.start(rig.replicas[0])
	var wg sync.WaitGroup
	for _, r := range rig.replicas[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); rig.start(r) }()
	}
	wg.Wait()
	return rig
}

// start runs a replica and waits until it is ready.
func (rig *clusterRig) start(r *replica) {
	r.proc = cmdtest.Serve(rig.t, rig.bin, nil, r.env...)
	rig.waitReady(r)
}

func (rig *clusterRig) waitReady(r *replica) map[string]string {
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, v := readyz(r)
		if code == http.StatusOK {
			return v
		}
		if time.Now().After(deadline) {
			rig.t.Fatalf("%s not ready within 30 s (%d %v):\n%s", r.name, code, v, r.proc.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readyz(r *replica) (int, map[string]string) {
	resp, err := http.Get(r.url + "/readyz")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	v := map[string]string{}
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// apiGet GETs a replica's API path with the principal's API key.
func apiGet(t *testing.T, r *replica, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+clusterAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s%s: %d %s", r.name, path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s%s: %v: %s", r.name, path, err, b)
	}
}

type clusterGovernance struct {
	Quotas []struct {
		Rule              string `json:"rule"`
		RequestsPerMinute int64  `json:"requestsPerMinute"`
		RequestsUsed      int64  `json:"requestsUsed"`
	} `json:"quotas"`
	Budgets []struct {
		Name   string  `json:"name"`
		Actual float64 `json:"actual"`
		Held   float64 `json:"held"`
	} `json:"budgets"`
}

func (g clusterGovernance) budget(name string) (actual, held float64, ok bool) {
	for _, b := range g.Budgets {
		if b.Name == name {
			return b.Actual, b.Held, true
		}
	}
	return 0, 0, false
}

func (rig *clusterRig) sharedGovernance(t *testing.T) {
	for _, r := range rig.replicas {
		var g clusterGovernance
		apiGet(t, r, "/api/governance", &g)
		if len(g.Quotas) == 0 || g.Quotas[0].Rule != "titan-rpm" || g.Quotas[0].RequestsPerMinute != quotaRPM {
			t.Errorf("%s: quotas %+v, want titan-rpm at %d requests per minute", r.name, g.Quotas, quotaRPM)
		}
		if _, _, ok := g.budget("llama-cap"); !ok {
			t.Errorf("%s: budgets %+v lack llama-cap", r.name, g.Budgets)
		}
		// The sealed SigV4 secret opens on every replica: a signed call
		// succeeds.
		if _, err := r.runtime.Converse(context.Background(), clusterConverse(warmModel, "warm up")); err != nil {
			t.Errorf("%s: a SigV4-signed call: %v", r.name, err)
		}
	}
	// And as applications call them: the AWS SDK for JavaScript v3 signing
	// with the sealed key, and the openai SDK with the API key stored as
	// its SHA-256, each with default settings, on the replicas whose files
	// hold no principals.
	node, clients := clientsuite.Node(t)
	for _, r := range rig.replicas[1:] {
		cmd := exec.Command(node, filepath.Join(clients, "traffic", "cluster-replica.mjs"))
		cmd.Dir = clients
		cmd.Env = append(os.Environ(), "MW_ENDPOINT="+r.url, "MW_ACCESS_KEY_ID="+clusterAK, "MW_SECRET_ACCESS_KEY="+clusterSK,
			"MW_API_KEY="+clusterAPIKey, "MW_MODEL="+warmModel)
		out, err := cmd.Output()
		var got struct{ ConverseRequestID, ConverseStop, ChatFinish string }
		if err != nil || json.Unmarshal(out, &got) != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("%s: the JavaScript clients: %v\n%s%s", r.name, err, out, stderr)
		}
		if got.ConverseRequestID == "" || got.ConverseStop != "end_turn" || got.ChatFinish != "stop" {
			t.Errorf("%s: the JavaScript clients got %+v", r.name, got)
		}
		t.Logf("%s: the AWS SDK for JavaScript (SigV4) and the openai SDK (API key) served: %+v", r.name, got)
	}
	// What PostgreSQL holds: no key in the clear.
	out, err := exec.Command("psql", rig.pg.URL[:strings.LastIndex(rig.pg.URL, "/")]+"/modelwatch", "-Atc", "select body::text from documents where name='governance'").CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v %s", err, out)
	}
	for _, secret := range []string{clusterSK, clusterAPIKey} {
		if strings.Contains(string(out), secret) {
			t.Errorf("the shared configuration holds %q in the clear", secret)
		}
	}
}

// sharedDirRefused: a replica started on a data directory another live
// replica uses is refused, even where flock cannot tell (a volume mounted
// on two hosts): here a copy of r2's directory identity in a fresh
// directory.
func (rig *clusterRig) sharedDirRefused(t *testing.T) {
	r2 := rig.replicas[2]
	var dataDir string
	for _, line := range strings.Split(string(must(os.ReadFile(r2.cfgFile))), "\n") {
		if d, ok := strings.CutPrefix(line, "dataDir: "); ok {
			dataDir = d
		}
	}
	id, err := os.ReadFile(filepath.Join(dataDir, "replica-id"))
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "replica-id"), id, 0o600); err != nil {
		t.Fatal(err)
	}
	// r2's own file, but another replica name and that directory.
	cfgFile := filepath.Join(t.TempDir(), "r9.yaml")
	cfg := strings.Replace(string(must(os.ReadFile(r2.cfgFile))), "replica: r2", "replica: r9", 1)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(rig.bin, "serve")
	cmd.Env = append(os.Environ(), rig.minio.Env()...)
	cmd.Env = append(cmd.Env, "MODELWATCH_CONFIG="+cfgFile, "MODELWATCH_DATA_DIR="+other, "MODELWATCH_LISTEN=127.0.0.1:0")
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("a replica on r2's data directory did not exit within 30 s")
	}
	if err == nil || !strings.Contains(string(out), `is in use by replica "r2"`) {
		t.Fatalf("a replica on r2's data directory: %v\n%s", err, out)
	}
	t.Logf("refused: %s", strings.TrimSpace(string(out[strings.LastIndex(string(out[:len(out)-1]), "\n")+1:])))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func clusterConverse(model, text string) *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{ModelId: aws.String(model),
		Messages:        []brtypes.Message{{Role: brtypes.ConversationRoleUser, Content: []brtypes.ContentBlock{&brtypes.ContentBlockMemberText{Value: text}}}},
		InferenceConfig: &brtypes.InferenceConfiguration{MaxTokens: aws.Int32(10)}}
}

func (rig *clusterRig) loggingPutAppliesEverywhere(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	if _, err := rig.replicas[0].control.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String(clusterLogs), KeyPrefix: aws.String("cluster")}},
	}); err != nil {
		t.Fatal(err)
	}
	put := time.Since(start)
	for _, r := range rig.replicas[1:] {
		for {
			out, err := r.control.GetModelInvocationLoggingConfiguration(ctx, &bedrock.GetModelInvocationLoggingConfigurationInput{})
			if err != nil {
				t.Fatal(err)
			}
			if c := out.LoggingConfig; c != nil && c.S3Config != nil && aws.ToString(c.S3Config.BucketName) == clusterLogs && aws.ToString(c.S3Config.KeyPrefix) == "cluster" {
				break
			}
			if time.Since(start) > put+time.Second {
				t.Fatalf("%s still has %+v a second after the Put on r0", r.name, out.LoggingConfig)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s applied r0's logging configuration %v after the Put returned", r.name, (time.Since(start) - put).Round(time.Millisecond))
	}
}

// errorCode is the API error code of an SDK error ("" when none).
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func (rig *clusterRig) quotaAcrossReplicas(t *testing.T) {
	const calls = 60
	var ok, throttled atomic.Int64
	var other sync.Map
	start := time.Now()
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rig.replicas[i%3]
			_, err := r.runtime.Converse(context.Background(), clusterConverse(quotaModel, fmt.Sprintf("quota call %d", i)))
			switch code := errorCode(err); {
			case err == nil:
				ok.Add(1)
			case code == "ThrottlingException":
				throttled.Add(1)
			default:
				other.Store(err.Error(), true)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	other.Range(func(k, _ any) bool { t.Errorf("unexpected error: %v", k); return true })
	// A per-minute bucket refills continuously: quotaRPM/60 a second.
	most := int64(quotaRPM) + int64(elapsed.Seconds()*quotaRPM/60)
	t.Logf("%d calls round robin over 3 replicas in %v: %d admitted, %d throttled (limit %d per minute)", calls, elapsed.Round(time.Millisecond), ok.Load(), throttled.Load(), quotaRPM)
	if ok.Load() < quotaRPM || ok.Load() > most {
		t.Errorf("%d admitted, want %d (at most %d with what refilled in %v)", ok.Load(), quotaRPM, most, elapsed)
	}
	if ok.Load()+throttled.Load() != calls {
		t.Errorf("%d admitted + %d throttled != %d", ok.Load(), throttled.Load(), calls)
	}
}

// callNano is a call's cost in nano-dollars, from the usage it returned.
func (rig *clusterRig) callNano(t *testing.T, model string, u *brtypes.TokenUsage) int64 {
	usd, ok := rig.prices.CallCost(model, "", invocation.Usage{InputTokens: int(aws.ToInt32(u.InputTokens)), OutputTokens: int(aws.ToInt32(u.OutputTokens))}, "", "")
	if !ok {
		t.Fatalf("%s is unpriced", model)
	}
	return int64(math.Round(usd * 1e9))
}

func (rig *clusterRig) budgetAcrossReplicas(t *testing.T) {
	var spent, admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 4 {
				r := rig.replicas[(g+i)%3]
				out, err := r.runtime.Converse(context.Background(), clusterConverse(budgetModel, fmt.Sprintf("budget call %d.%d", g, i)))
				switch {
				case err == nil:
					admitted.Add(1)
					spent.Add(rig.callNano(t, budgetModel, out.Usage))
				case errorCode(err) == "ServiceQuotaExceededException" && strings.Contains(err.Error(), "llama-cap"):
					refused.Add(1)
				default:
					t.Errorf("%s: %v", r.name, err)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("48 calls round robin: %d admitted, %d refused; spent %d of %d nano-dollars", admitted.Load(), refused.Load(), spent.Load(), budgetNano)
	if spent.Load() > budgetNano {
		t.Errorf("the replicas together spent %d nano-dollars, over the hard limit of %d", spent.Load(), budgetNano)
	}
	if admitted.Load() == 0 || refused.Load() == 0 {
		t.Errorf("the drill needs both admitted and refused calls")
	}
	// Every replica reports the same spend: the calls' exact cost.
	rig.eventually(t, 5*time.Second, func() error {
		for _, r := range rig.replicas {
			var g clusterGovernance
			apiGet(t, r, "/api/governance", &g)
			actual, held, _ := g.budget("llama-cap")
			if actual != float64(spent.Load())/1e9 || held != 0 {
				return fmt.Errorf("%s: llama-cap actual %v held %v, want actual exactly %v (the calls' %d nano-dollars) and nothing held", r.name, actual, held, float64(spent.Load())/1e9, spent.Load())
			}
			// And its metric, which Prometheus scrapes from every replica.
			if m := scrapeValue(t, r, `modelwatch_budget_spend{budget="llama-cap",replica="`+r.name+`"}`); m != fmt.Sprint(float64(spent.Load())/1e9) {
				return fmt.Errorf("%s: modelwatch_budget_spend %s, want %v", r.name, m, float64(spent.Load())/1e9)
			}
		}
		return nil
	})
}

// leader is the replica `modelwatch cluster status` names for duty ("" if
// none).
func (rig *clusterRig) leader(t *testing.T, duty string) string {
	out, err := exec.Command(rig.bin, "cluster", "status", "--config", rig.replicas[0].cfgFile).CombinedOutput()
	if err != nil {
		t.Fatalf("cluster status: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(duty) + `\s+(\S+)\s`).FindSubmatch(out)
	if m == nil || string(m[1]) == "-" {
		return ""
	}
	return string(m[1])
}

// scrapeValue is the value of one series on a replica's /metrics, as
// Prometheus reads it ("" when absent).
func scrapeValue(t *testing.T, r *replica, series string) string {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", r.metricsPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

func (rig *clusterRig) eventually(t *testing.T, within time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loadResult is what a load was served: request ID → cost in
// nano-dollars, and how many calls failed.
type loadResult struct {
	served map[string]int64
	failed int64
}

// startLoad starts workers calling model round robin over the replicas;
// the function it returns stops them and says what they were served.
func (rig *clusterRig) startLoad(t *testing.T, model string, workers int) (stop func() loadResult) {
	done := make(chan struct{})
	res := make(chan loadResult, 1)
	go func() { s, f := rig.load(t, model, workers, done); res <- loadResult{s, f} }()
	return func() loadResult { close(done); return <-res }
}

// load runs workers calling model round robin over the replicas until
// stop is closed, and returns what they were served.
func (rig *clusterRig) load(t *testing.T, model string, workers int, stop <-chan struct{}) (served map[string]int64, failed int64) {
	var mu sync.Mutex
	served = map[string]int64{}
	var fails atomic.Int64
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := n.Add(1)
				r := rig.replicas[(int(i)+w)%3]
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				out, err := r.runtime.Converse(ctx, clusterConverse(model, fmt.Sprintf("%s load %d", model, i)))
				cancel()
				if err != nil {
					fails.Add(1)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
				c := rig.callNano(t, model, out.Usage)
				mu.Lock()
				served[id] = c
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return served, fails.Load()
}

func (rig *clusterRig) killOneReplica(t *testing.T) {
	stopLoad := rig.startLoad(t, killModel, 16)
	// The victim is the replica that evaluates the alarms: its duty must
	// move to another replica.
	leader := rig.leader(t, "alarms")
	var victim *replica
	for _, rep := range rig.replicas {
		if rep.name == leader {
			victim = rep
		}
	}
	if victim == nil {
		t.Fatalf("no replica leads the alarms (%q)", leader)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := victim.proc.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for {
		if l := rig.leader(t, "alarms"); l != "" && l != victim.name {
			t.Logf("the alarms moved from %s (killed) to %s within %v", victim.name, l, time.Since(killed).Round(10*time.Millisecond))
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("no other replica took the alarms over within 10 s of %s's SIGKILL", victim.name)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	r := stopLoad()
	if len(r.served) < 100 {
		t.Fatalf("only %d calls served before the kill; the drill needs a real load", len(r.served))
	}
	t.Logf("%d calls served round robin, %d failed (those sent to %s after SIGKILL)", len(r.served), r.failed, victim.name)
	rig.start(victim) // same data directory: its spool is delivered now
	src := logquery.Source{Store: objectstore.NewS3(rig.minio.Client(t)), Bucket: clusterLogs,
		LogsPrefix: invocationlog.LogsPrefix("cluster", "000000000000", "us-east-1")}
	rig.eventually(t, 30*time.Second, func() error {
		seen := map[string]int{}
		if err := src.Query(context.Background(), logquery.Filter{}, func(_ []byte, rec *invocationlog.Record) error {
			seen[rec.RequestID]++
			return nil
		}); err != nil {
			return err
		}
		missing := 0
		for id := range r.served {
			if seen[id] > 1 {
				t.Fatalf("request %s delivered %d times", id, seen[id])
			}
			if seen[id] == 0 {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d served calls not delivered", missing, len(r.served))
		}
		return nil
	})
	// Every replica's batches carry its name: no two can collide.
	keys := listKeys(t, rig, "cluster/")
	byReplica := map[string]int{}
	for _, k := range keys {
		for _, rep := range rig.replicas {
			if strings.Contains(k, "_"+rep.name+"-") {
				byReplica[rep.name]++
			}
		}
	}
	t.Logf("all %d served calls delivered once; batch objects per replica: %v", len(r.served), byReplica)
	if len(byReplica) != 3 {
		t.Errorf("batch objects per replica %v, want batches named after each of the three", byReplica)
	}
}

func listKeys(t *testing.T, rig *clusterRig, prefix string) []string {
	var keys []string
	err := objectstore.NewS3(rig.minio.Client(t)).List(context.Background(), clusterLogs, prefix, "", func(o objectstore.Object) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func (rig *clusterRig) redisRestart(t *testing.T) {
	stopLoad := rig.startLoad(t, reconModel, 12)
	time.Sleep(time.Second)
	rig.redis.Stop()
	sawLocal := false
	outage := time.Now()
	for time.Since(outage) < 2*time.Second {
		for _, r := range rig.replicas {
			if _, v := readyz(r); v["sharedCounters"] == "local" {
				sawLocal = true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := rig.redis.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	r := stopLoad()
	if r.failed > 0 {
		t.Errorf("%d calls failed while Redis was down: the default is to fail open to local counters", r.failed)
	}
	if !sawLocal {
		t.Errorf("no replica said in /readyz that it counted locally while Redis was down")
	}
	var want int64
	for _, c := range r.served {
		want += c
	}
	t.Logf("%d calls served across the Redis restart (2 s down), %d failed; %d nano-dollars", len(r.served), r.failed, want)
	rig.eventually(t, 15*time.Second, func() error {
		for _, rep := range rig.replicas {
			if _, v := readyz(rep); v["sharedCounters"] != "shared" {
				return fmt.Errorf("%s: shared counters %q after Redis returned", rep.name, v["sharedCounters"])
			}
			var g clusterGovernance
			apiGet(t, rep, "/api/governance", &g)
			if actual, held, _ := g.budget("nova-spend"); actual != float64(want)/1e9 || held != 0 {
				return fmt.Errorf("%s: nova-spend actual %v held %v, want exactly %v (every served call's cost, the outage's reconciled) and nothing held", rep.name, actual, held, float64(want)/1e9)
			}
		}
		return nil
	})
}

func (rig *clusterRig) postgresOutage(t *testing.T) {
	stopLoad := rig.startLoad(t, outageModel, 4)
	rig.pg.Stop()
	down := time.Now()
	// Meanwhile: every replica stays ready and serves with the last
	// configuration; changing the shared configuration fails, clearly.
	sawUnavailable := map[string]bool{}
	_, err := rig.replicas[2].control.PutModelInvocationLoggingConfiguration(context.Background(), &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String(clusterLogs), KeyPrefix: aws.String("elsewhere")}},
	})
	if code := errorCode(err); code != "InternalServerException" {
		t.Errorf("a logging configuration Put while PostgreSQL is down: %v (code %q), want InternalServerException", err, code)
	}
	for time.Since(down) < 30*time.Second {
		for _, r := range rig.replicas {
			code, v := readyz(r)
			if code != http.StatusOK {
				t.Errorf("%s not ready while PostgreSQL is down: %d %v", r.name, code, v)
			}
			if strings.HasPrefix(v["sharedConfig"], "unavailable") {
				sawUnavailable[r.name] = true
			}
		}
		time.Sleep(time.Second)
	}
	if err := rig.pg.Start(); err != nil {
		t.Fatal(err)
	}
	r := stopLoad()
	t.Logf("PostgreSQL down for %v: %d calls served, %d failed; replicas that reported it: %v", time.Since(down).Round(time.Second), len(r.served), r.failed, sawUnavailable)
	if r.failed > 0 {
		t.Errorf("%d calls failed while PostgreSQL was down", r.failed)
	}
	if len(sawUnavailable) != 3 {
		t.Errorf("replicas that reported the shared configuration unavailable in /readyz: %v, want all three", sawUnavailable)
	}
	// Back: the replicas reconnect, a duty has a leader again, and a
	// change published now applies everywhere within a second.
	rig.eventually(t, 20*time.Second, func() error {
		for _, rep := range rig.replicas {
			if _, v := readyz(rep); v["sharedConfig"] != "ok" {
				return fmt.Errorf("%s: shared configuration %q after PostgreSQL returned", rep.name, v["sharedConfig"])
			}
		}
		out, err := exec.Command(rig.bin, "cluster", "status", "--config", rig.replicas[0].cfgFile).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "alarms") || strings.Contains(string(out), "alarms                -") {
			return fmt.Errorf("cluster status: %v\n%s", err, out)
		}
		return nil
	})
	pushed := filepath.Join(t.TempDir(), "push.yaml")
	base, _ := os.ReadFile(rig.replicas[0].cfgFile)
	text := strings.Replace(string(base), fmt.Sprintf("requestsPerMinute: %d", quotaRPM), "requestsPerMinute: 30", 1)
	if err := os.WriteFile(pushed, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if out, err := exec.Command(rig.bin, "cluster", "push", "--config", pushed).CombinedOutput(); err != nil {
		t.Fatalf("cluster push: %v\n%s", err, out)
	} else {
		t.Logf("cluster push: %s", strings.TrimSpace(string(out)))
	}
	rig.eventually(t, time.Second, func() error {
		for _, rep := range rig.replicas {
			var g clusterGovernance
			apiGet(t, rep, "/api/governance", &g)
			if len(g.Quotas) == 0 || g.Quotas[0].RequestsPerMinute != 30 {
				return fmt.Errorf("%s: quotas %+v, want titan-rpm at 30 after the push", rep.name, g.Quotas)
			}
		}
		return nil
	})
	t.Logf("the push applied on all three replicas within %v", time.Since(start).Round(time.Millisecond))

	// SIGHUP on a replica whose file has no governance re-reads its file
	// and keeps the shared governance: it does not publish an empty one.
	r1 := rig.replicas[1]
	if err := r1.proc.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	rig.eventually(t, 5*time.Second, func() error {
		if !strings.Contains(r1.proc.Log(), "the shared ones stay") {
			return fmt.Errorf("r1 did not log the reload")
		}
		return nil
	})
	for _, rep := range rig.replicas {
		var g clusterGovernance
		apiGet(t, rep, "/api/governance", &g)
		if len(g.Quotas) == 0 || g.Quotas[0].RequestsPerMinute != 30 {
			t.Errorf("%s after SIGHUP on r1: quotas %+v, want titan-rpm at 30 still", rep.name, g.Quotas)
		}
	}
}

func (rig *clusterRig) dashboardSumsReplicas(t *testing.T) {
	const perReplica = 10
	for i := range 3 * perReplica {
		r := rig.replicas[i%3]
		if _, err := r.runtime.Converse(context.Background(), clusterConverse(countedModel, fmt.Sprintf("counted %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	// A model no replica served before: its counters began with this
	// phase (a replica restarted within the range counts only what it
	// served since; README "Scale out").
	want := float64(3 * perReplica)
	q := url.Values{"query": {fmt.Sprintf(`sum(bedrock_invocations_total{model_id=%q})`, countedModel)}}
	rig.eventually(t, 20*time.Second, func() error {
		var v struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		apiGet(t, rig.replicas[2], "/api/v1/query?"+q.Encode(), &v)
		if len(v.Data.Result) != 1 || v.Data.Result[0].Value[1] != fmt.Sprint(want) {
			return fmt.Errorf("Prometheus through r2's /api/v1: %+v, want %v", v.Data.Result, want)
		}
		return nil
	})
	ctx := webuitest.NewBrowser(t)
	webuitest.SetAPIKey(t, ctx, clusterAPIKey)
	section := "model-" + strings.NewReplacer(".", "-", ":", "-").Replace(countedModel)
	if err := webuitest.Open(ctx, rig.replicas[1].url, "#/model/"+section); err != nil {
		t.Fatal(err)
	}
	p := webuitest.ReadPage(t, ctx)
	webuitest.Screenshot(t, ctx, webuitest.ScreenshotDir(t), "cluster-model")
	if got := p.Numbers["Invocations"]; got != want {
		t.Errorf("r1's dashboard, reading Prometheus, shows %v invocations of %s (%q), want exactly %v: %d on each of three replicas", got, countedModel, p.Values["Invocations"], want, perReplica)
	}
}
