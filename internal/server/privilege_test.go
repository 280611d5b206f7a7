package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	rttypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/server"
	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// Principals of the least-privilege tests: alice and bob hold the default
// grants, admin everything, scraper only the metrics, auditor every
// principal's records.
const (
	bobKeyID       = "AKIABOB0000000EXAMPLE"
	bobSecret      = "bob/K7MDENG/bPxRfiCYEXAMPLEKEY00"
	bobAPIKey      = "mw-bob-0123456789abcdefghijklmnopq"
	adminKeyID     = "AKIAADMIN00000EXAMPLE"
	adminSecret    = "admin/K7MDENG/bPxRfiCYEXAMPLEKEY"
	adminAPIKey    = "mw-admin-0123456789abcdefghijklmno"
	scraperAPIKey  = "mw-scraper-0123456789abcdefghijklm"
	auditorAPIKey  = "mw-auditor-0123456789abcdefghijklm"
	streamerKeyID  = "AKIASTREAMER0EXAMPLE"
	streamerSecret = "streamer/K7MDENG/bPxRfiCYEXAMPLE"
)

func arnOf(name string) string { return "arn:aws:iam::000000000000:user/" + name }

func withTeam(c *config.Config) {
	withAlice(c)
	c.Auth.Principals = append(c.Auth.Principals,
		auth.Principal{Name: "bob", AccessKeys: []auth.AccessKey{{ID: bobKeyID, Secret: bobSecret}}, APIKeys: []auth.Secret{bobAPIKey}},
		auth.Principal{Name: "admin", AccessKeys: []auth.AccessKey{{ID: adminKeyID, Secret: adminSecret}}, APIKeys: []auth.Secret{adminAPIKey},
			Allow: []string{"*"}},
		auth.Principal{Name: "scraper", APIKeys: []auth.Secret{scraperAPIKey}, Allow: []string{"modelwatch:GetMetrics"}},
		auth.Principal{Name: "auditor", APIKeys: []auth.Secret{auditorAPIKey}, Allow: []string{"modelwatch:ListInvocations", "modelwatch:ListAllInvocations"}},
		// streamer may call models without streaming only.
		auth.Principal{Name: "streamer", AccessKeys: []auth.AccessKey{{ID: streamerKeyID, Secret: streamerSecret}}, Allow: []string{"bedrock:InvokeModel"}},
	)
}

// jsonLines returns the server's JSON log lines whose msg is msg, decoded.
func jsonLines(t *testing.T, b *syncBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func startTeam(t *testing.T) (*server.Server, *recorder, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	srv, rec := startServerWith(t, withTeam, server.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	return srv, rec, logs
}

// putLocalLogging turns logging on as admin, to the local stand-in bucket.
func putLocalLogging(t *testing.T, srv *server.Server, bucket string) {
	t.Helper()
	_, err := controlClient(srv.URL(), adminKeyID, adminSecret).PutModelInvocationLoggingConfiguration(context.Background(),
		&bedrock.PutModelInvocationLoggingConfigurationInput{LoggingConfig: &bedrocktypes.LoggingConfig{
			S3Config: &bedrocktypes.S3Config{BucketName: aws.String(bucket), KeyPrefix: aws.String(logPrefix)}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoggingConfigurationNeedsAnExplicitGrant(t *testing.T) {
	srv, _, logs := startTeam(t)
	ctx := context.Background()
	alice := controlClient(srv.URL(), aliceKeyID, aliceSecret)
	denied := func(action string) string {
		return "User: arn:aws:iam::000000000000:user/alice is not authorized to perform: " + action +
			" because no identity-based policy allows the " + action + " action"
	}

	_, err := alice.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{S3Config: &bedrocktypes.S3Config{BucketName: aws.String("alices-bucket")}}})
	apiErrorExact(t, err, "AccessDeniedException", 403, denied("bedrock:PutModelInvocationLoggingConfiguration"))
	_, err = alice.GetModelInvocationLoggingConfiguration(ctx, &bedrock.GetModelInvocationLoggingConfigurationInput{})
	apiErrorExact(t, err, "AccessDeniedException", 403, denied("bedrock:GetModelInvocationLoggingConfiguration"))
	_, err = alice.DeleteModelInvocationLoggingConfiguration(ctx, &bedrock.DeleteModelInvocationLoggingConfigurationInput{})
	apiErrorExact(t, err, "AccessDeniedException", 403, denied("bedrock:DeleteModelInvocationLoggingConfiguration"))
	if srv.Logging().Config() != nil {
		t.Fatal("a refused Put changed the configuration")
	}
	if got := jsonLines(t, logs, "invocation logging configuration changed"); len(got) != 0 {
		t.Fatalf("refused calls were logged as changes: %v", got)
	}

	// The default grants still call and list models.
	if _, err := controlClient(srv.URL(), aliceKeyID, aliceSecret).ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{}); err != nil {
		t.Fatalf("ListFoundationModels with the default grants: %v", err)
	}

	putLocalLogging(t, srv, "audit-logs")
	admin := controlClient(srv.URL(), adminKeyID, adminSecret)
	if _, err := admin.DeleteModelInvocationLoggingConfiguration(ctx, &bedrock.DeleteModelInvocationLoggingConfigurationInput{}); err != nil {
		t.Fatal(err)
	}

	changes := jsonLines(t, logs, "invocation logging configuration changed")
	if len(changes) != 2 {
		t.Fatalf("%d change lines, want 2 (Put, Delete):\n%s", len(changes), logs)
	}
	wantNew := `{"s3Config":{"bucketName":"audit-logs","keyPrefix":"bedrock/invocation-logs"}}`
	for i, want := range []map[string]any{
		{"action": "bedrock:PutModelInvocationLoggingConfiguration", "old": "null", "new": wantNew},
		{"action": "bedrock:DeleteModelInvocationLoggingConfiguration", "old": wantNew, "new": "null"},
	} {
		got := changes[i]
		want["principal"], want["principal_arn"], want["source_ip"], want["auth_method"] = "admin", arnOf("admin"), "127.0.0.1", "sigv4"
		for k, v := range want {
			if got[k] != v {
				t.Errorf("change %d: %s = %v, want %v", i, k, got[k], v)
			}
		}
		if id, _ := got["request_id"].(string); len(id) != 36 {
			t.Errorf("change %d: request_id %v", i, got["request_id"])
		}
	}
}

func TestModelCallsAreAuthorizedPerAction(t *testing.T) {
	srv, rec, _ := startTeam(t)
	ctx := context.Background()
	streamer := runtimeClient(srv.URL(), streamerKeyID, streamerSecret)
	msgs := []rttypes.Message{{Role: rttypes.ConversationRoleUser, Content: []rttypes.ContentBlock{&rttypes.ContentBlockMemberText{Value: "hi"}}}}

	if _, err := streamer.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(haiku), Messages: msgs}); err != nil {
		t.Fatalf("Converse with bedrock:InvokeModel: %v", err)
	}
	_, err := streamer.ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku), Messages: msgs})
	apiErrorExact(t, err, "AccessDeniedException", 403,
		"User: arn:aws:iam::000000000000:user/streamer is not authorized to perform: bedrock:InvokeModelWithResponseStream on resource: "+
			"arn:aws:bedrock:us-east-1::foundation-model/"+haiku+" because no identity-based policy allows the bedrock:InvokeModelWithResponseStream action")
	inv := rec.byRequestID(t, errRequestID(t, err))
	if inv.ErrorCode != "AccessDeniedException" || inv.PrincipalARN != arnOf("streamer") || len(inv.Input.Data) != 0 {
		t.Errorf("denied call recorded as %q by %q with %d input bytes; want AccessDeniedException, streamer, no body",
			inv.ErrorCode, inv.PrincipalARN, len(inv.Input.Data))
	}

	// The OpenAI door authorizes a stream the same way.
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1/chat/completions",
		strings.NewReader(`{"model":"`+haiku+`","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+scraperAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"code":"access_denied"`) ||
		!strings.Contains(string(body), "user/scraper is not authorized to perform: bedrock:InvokeModelWithResponseStream") {
		t.Errorf("OpenAI stream without the grant: %d %s", resp.StatusCode, body)
	}
}

// getJSON sends an authenticated GET (bearer key, as the dashboard does).
func getJSON(t *testing.T, url, key string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestInvocationRecordsAreVisibleToTheirPrincipal(t *testing.T) {
	srv, _, _ := startTeam(t)
	ctx := context.Background()
	putLocalLogging(t, srv, "team-logs")
	invoke := func(keyID, secret, prompt string) string {
		out, err := runtimeClient(srv.URL(), keyID, secret).InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku),
			Body: []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":20,"messages":[{"role":"user","content":"` + prompt + `"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		return requestID(t, out.ResultMetadata)
	}
	aliceID := invoke(aliceKeyID, aliceSecret, "alice's secret plan")
	bobID := invoke(bobKeyID, bobSecret, "bob's question")

	list := func(key string) (ids, arns []string) {
		t.Helper()
		status, body := getJSON(t, srv.URL()+"/api/invocations", key)
		if status != http.StatusOK {
			t.Fatalf("/api/invocations as %s: %d %s", key, status, body)
		}
		var out struct {
			Invocations []struct {
				RequestID string `json:"requestId"`
				Identity  struct {
					ARN string `json:"arn"`
				} `json:"identity"`
			} `json:"invocations"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Invocations {
			ids, arns = append(ids, r.RequestID), append(arns, r.Identity.ARN)
		}
		return ids, arns
	}
	for _, tt := range []struct {
		who, key string
		ids      []string
	}{
		{"alice", aliceAPIKey, []string{aliceID}},
		{"bob", bobAPIKey, []string{bobID}},
		{"auditor", auditorAPIKey, []string{bobID, aliceID}},
		{"admin", adminAPIKey, []string{bobID, aliceID}},
	} {
		ids, arns := list(tt.key)
		if strings.Join(ids, ",") != strings.Join(tt.ids, ",") {
			t.Errorf("%s sees records %v (of %v), want %v", tt.who, ids, arns, tt.ids)
		}
	}

	if status, body := getJSON(t, srv.URL()+"/api/invocations/"+aliceID, bobAPIKey); status != http.StatusNotFound || strings.Contains(string(body), "secret plan") {
		t.Errorf("bob reading alice's record: %d %s", status, body)
	}
	if status, body := getJSON(t, srv.URL()+"/api/invocations/"+aliceID, aliceAPIKey); status != http.StatusOK || !strings.Contains(string(body), "secret plan") {
		t.Errorf("alice reading her record: %d %s", status, body)
	}
	if status, body := getJSON(t, srv.URL()+"/api/invocations", scraperAPIKey); status != http.StatusForbidden ||
		!strings.Contains(string(body), "user/scraper is not authorized to perform: modelwatch:ListInvocations") {
		t.Errorf("scraper listing records: %d %s", status, body)
	}
}

func TestMetricsNeedTheGetMetricsGrant(t *testing.T) {
	logs := &syncBuffer{}
	srv, _ := startServerWith(t, func(c *config.Config) {
		withTeam(c)
		c.Metrics.Listen = "127.0.0.1:0"
	}, server.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	// One known call, so the scrape has a model series to show.
	if _, err := runtimeClient(srv.URL(), aliceKeyID, aliceSecret).InvokeModel(context.Background(),
		&bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: invokeBody}); err != nil {
		t.Fatal(err)
	}
	wantSeries := `bedrock_invocations_total{model_id="` + haiku + `",operation="InvokeModel"} 1`

	for _, tt := range []struct {
		who, url, key string
		status        int
		contains      string
	}{
		{"nobody", srv.URL() + "/metrics", "", http.StatusUnauthorized, "authentication required"},
		{"alice", srv.URL() + "/metrics", aliceAPIKey, http.StatusForbidden,
			"User: arn:aws:iam::000000000000:user/alice is not authorized to perform: modelwatch:GetMetrics because no identity-based policy allows the modelwatch:GetMetrics action"},
		{"scraper", srv.URL() + "/metrics", scraperAPIKey, http.StatusOK, wantSeries},
		{"alice history", srv.URL() + "/api/v1/query?query=up", aliceAPIKey, http.StatusForbidden, `"errorType":"forbidden"`},
		{"scraper history", srv.URL() + "/api/v1/query?query=vector(1)", scraperAPIKey, http.StatusOK, `"status":"success"`},
		{"metrics.listen on loopback", "http://" + srv.MetricsAddr() + "/metrics", "", http.StatusOK, wantSeries},
		{"metrics.listen serves nothing else", "http://" + srv.MetricsAddr() + "/api/invocations", adminAPIKey, http.StatusNotFound, ""},
	} {
		status, body := getJSON(t, tt.url, tt.key)
		if status != tt.status || !strings.Contains(string(body), tt.contains) {
			t.Errorf("%s: %d, want %d containing %q; body %.300s", tt.who, status, tt.status, tt.contains, body)
		}
	}
}

func TestMetricsListenBeyondLoopbackNeedsPrincipals(t *testing.T) {
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Metrics.Listen = "0.0.0.0:0" // never bound: New refuses first
	_, err := server.New(cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "refusing to serve metrics on 0.0.0.0:0 without authentication") {
		t.Fatalf("New = %v", err)
	}
}

func TestRefusedCallersBodiesAreNotLogged(t *testing.T) {
	srv, _, _ := startTeam(t)
	ctx := context.Background()
	putLocalLogging(t, srv, "refused-logs")
	prompt := strings.Repeat("confidential ", 160_000) // ~2 MB: would be offloaded to data/
	body := []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":20,"messages":[{"role":"user","content":"` + prompt + `"}]}`)

	_, err := runtimeClient(srv.URL(), aliceKeyID, "not-alices-secret").InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: body})
	apiError(t, err, "InvalidSignatureException", 403, "")
	refused := errRequestID(t, err)
	_, err = runtimeClient(srv.URL(), streamerKeyID, streamerSecret).InvokeModelWithResponseStream(ctx,
		&bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(haiku), Body: body})
	apiError(t, err, "AccessDeniedException", 403, "")
	denied := errRequestID(t, err)
	out, err := runtimeClient(srv.URL(), aliceKeyID, aliceSecret).InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: body})
	if err != nil {
		t.Fatal(err)
	}
	served := requestID(t, out.ResultMetadata)

	store := objectstore.NewDir(srv.Config().DataDir + "/s3")
	lo := waitForRecords(t, store, "refused-logs", []string{refused, denied, served}, 10*time.Second)
	for _, id := range []string{refused, denied} {
		r := lo.records[id][0]
		raw := string(lo.raw[id])
		if r.ErrorCode == "" || strings.Contains(raw, "confidential") || strings.Contains(raw, "inputBodyJson") || strings.Contains(raw, "inputBodyS3Path") {
			t.Errorf("refused call %s recorded with its body or without its error: %.400s", id, raw)
		}
	}
	if r := lo.records[refused][0]; r.Identity.ARN != "" {
		t.Errorf("unauthenticated call recorded as %q", r.Identity.ARN)
	}
	if r := lo.records[denied][0]; r.Identity.ARN != arnOf("streamer") || r.ErrorCode != "AccessDeniedException" {
		t.Errorf("denied call recorded as %q %q", r.Identity.ARN, r.ErrorCode)
	}
	// Exactly one offloaded input: the served call's.
	var inputs []string
	for k := range lo.data {
		if strings.HasSuffix(k, "_input.json.gz") {
			inputs = append(inputs, k)
		}
	}
	if len(inputs) != 1 || !strings.Contains(inputs[0], served) {
		t.Errorf("offloaded inputs %v, want only the served call's (%s)", inputs, served)
	}
}

// apiErrorExact is apiError with the whole message.
func apiErrorExact(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	apiError(t, err, code, status, msg)
	if err != nil && !strings.HasSuffix(err.Error(), ", "+msg) && !strings.HasSuffix(err.Error(), ": "+msg) {
		t.Errorf("message of %v is not exactly %q", err, msg)
	}
}

// bearer adds an API key to every request of a client that has no option
// for it.
type bearer struct {
	key string
	rt  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.rt.RoundTrip(r)
}

// Prometheus's own Go client (and Grafana) send queries as POST forms: the
// authentication that reads the body must leave it for the query API.
func TestQueryAPIAcceptsPOSTFormsFromAnAuthorizedClient(t *testing.T) {
	srv, _, _ := startTeam(t)
	c, err := promapi.NewClient(promapi.Config{Address: srv.URL(), RoundTripper: bearer{scraperAPIKey, http.DefaultTransport}})
	if err != nil {
		t.Fatal(err)
	}
	v, _, _, err := promv1.NewAPI(c).Query(context.Background(), "vector(42)", time.Now())
	if err != nil {
		t.Fatalf("query through the official client: %v", err)
	}
	if got := v.String(); !strings.Contains(got, "=> 42 @") {
		t.Errorf("vector(42) = %s", got)
	}
}
