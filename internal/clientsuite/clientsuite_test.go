//go:build unix

package clientsuite_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"

	"github.com/modelwatch/modelwatch/internal/clientsuite"
	"github.com/modelwatch/modelwatch/internal/cmdtest"
)

const (
	region    = "us-east-1"
	accountID = "000000000000"
	// accessKeyID is js-sigv4's access key; its secret and js-bearer's API
	// key are drawn per run.
	accessKeyID = "AKIAJSCLIENTSUITE001"
	// governedKeyID is js-governed's access key (same secret): a
	// principal held by an IAM policy and a quota (governance.test.mjs).
	governedKeyID = "AKIAJSGOVERNED000001"
	// logBucket is the invocation-logging bucket the driver configures
	// (tools/clients/test/bedrock-control.test.mjs reads it back).
	logBucket = "client-suite"
	// passTimeout bounds one pass: server start, node's whole run, stop.
	passTimeout = 4 * time.Minute
	// testTimeout bounds each node test: a healthy one takes well under a
	// second, but some clients retry a failure with backoff for minutes.
	testTimeout = 30 * time.Second
)

func TestMain(m *testing.M) {
	code := m.Run()
	cmdtest.Cleanup()
	os.Exit(code)
}

// TestJavaScriptClients runs tools/clients/test/*.test.mjs — the real
// JavaScript clients with their default transports — against `modelwatch
// serve` over plain HTTP and over TLS. Each pass also has a fake
// OpenAI-compatible upstream (upstream_test.go) serving the pass-through
// model, for openai-passthrough.test.mjs.
func TestJavaScriptClients(t *testing.T) {
	node, clients := clientsuite.Node(t)
	// MW_CLIENT_TESTS narrows the run to the files whose names match a
	// pattern (anthropic-*), for working on one client.
	pattern := "*"
	if p := os.Getenv("MW_CLIENT_TESTS"); p != "" {
		pattern = p
	}
	files, err := filepath.Glob(filepath.Join(clients, "test", pattern+".test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no tools/clients/test/*.test.mjs files (%v)", err)
	}
	bin := cmdtest.Binary(t)
	pki := newTestPKI(t, t.TempDir())

	passes := []struct {
		name string
		tls  bool
	}{
		{name: "plain HTTP", tls: false},
		{name: "TLS with a private CA", tls: true},
	}
	for _, p := range passes {
		t.Run(p.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), passTimeout)
			defer cancel()
			id := newIdentities(t)
			up := newFakeUpstream(t)
			// Also when node fails: what the upstream was sent says why.
			defer up.check(t)
			srv := startServerWith(ctx, t, bin, id, p.tls, pki, up)
			srv.enableLogging(ctx, t, id)

			env := map[string]string{
				"MW_ENDPOINT":             srv.url,
				"MW_OPENAI_BASE_URL":      srv.url + "/v1",
				"MW_REGION":               region,
				"MW_ACCOUNT_ID":           accountID,
				"MW_ACCESS_KEY_ID":        accessKeyID,
				"MW_SECRET_ACCESS_KEY":    id.secret,
				"MW_SIGV4_PRINCIPAL_ARN":  "arn:aws:iam::" + accountID + ":user/js-sigv4",
				"MW_API_KEY":              id.apiKey,
				"MW_GOVERNED_KEY_ID":      governedKeyID,
				"MW_BEARER_PRINCIPAL_ARN": "arn:aws:iam::" + accountID + ":user/js-bearer",
				"MW_TRANSPORT":            "http",
				// The standard AWS variable, for the clients that take no
				// endpoint of their own (LangChain's, over plain HTTP).
				"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": srv.url,
				// Nothing from this machine's AWS setup may reach the clients.
				"AWS_CONFIG_FILE":             filepath.Join(t.TempDir(), "no-aws-config"),
				"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "no-aws-credentials"),
				"AWS_EC2_METADATA_DISABLED":   "true",
			}
			// The pass-through model and its fake upstream
			// (openai-passthrough.test.mjs).
			for k, v := range up.env(t) {
				env[k] = v
			}
			if p.tls {
				env["MW_TRANSPORT"] = "tls"
				env["NODE_EXTRA_CA_CERTS"] = pki.caFile
			}
			runNode(ctx, t, node, clients, files, env, srv)
		})
	}
}

// identities are one pass's credentials: js-sigv4's secret and js-bearer's
// API key, random so that nothing depends on a fixed secret.
type identities struct{ secret, apiKey string }

func newIdentities(t *testing.T) identities {
	return identities{secret: randomHex(t, 20), apiKey: "mw-js-" + randomHex(t, 24)}
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// config is the server's configuration. js-sigv4 holds bedrock:* because the
// suite calls every Bedrock operation with it and the driver turns logging
// on with it; js-bearer may call models, count tokens (Anthropic's
// count_tokens) and read every principal's records
// (the JavaScript tests' oracle for usage). The secret comes from the
// environment and the API key is given as its SHA-256, as README.md
// recommends. With up, the configuration adds the pass-through model,
// served by an openai provider whose server is up and whose key the
// provider reads from upstreamKeyEnv.
func config(dataDir string, id identities, tlsOn bool, pki testPKI, up *fakeUpstream) string {
	sum := sha256.Sum256([]byte(id.apiKey))
	tlsLine := ""
	if tlsOn {
		tlsLine = fmt.Sprintf("tls: {certFile: %q, keyFile: %q}\n", pki.certFile, pki.keyFile)
	}
	upstream := ""
	if up != nil {
		upstream = up.configYAML()
	}
	return fmt.Sprintf(`listen: 127.0.0.1:0
dataDir: %q
accountId: %q
region: %s
%sinvocationLogging: {store: local}
auth:
  principals:
    - name: js-sigv4
      accessKeys: [{id: %s, secret: "${MW_SUITE_SECRET}"}]
      allow: ["bedrock:*", "modelwatch:ListInvocations"]
    - name: js-bearer
      apiKeys: ["sha256:%s"]
      allow: ["bedrock:InvokeModel*", "bedrock:CountTokens", "bedrock:*FoundationModel*", "modelwatch:List*Invocations"]
    - name: js-governed
      accessKeys: [{id: %s, secret: "${MW_SUITE_SECRET}"}]
      policies:
        - name: HaikuOnly
          document: |
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
              "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
              "Resource": "arn:aws:bedrock:%s::foundation-model/anthropic.claude-3-haiku-*"}]}
quotas:
  - name: js-governed-rpm
    principal: js-governed
    requestsPerMinute: 3
%s`, dataDir, accountID, region, tlsLine, accessKeyID, hex.EncodeToString(sum[:]), governedKeyID, region, upstream)
}

// server is a running `modelwatch serve`, stopped at the test's cleanup.
type server struct {
	cmd      *exec.Cmd
	url      string
	dataDir  string
	http     *http.Client
	log      *lines
	done     chan error
	stopOnce sync.Once
}

var urlPattern = regexp.MustCompile(`url=(https?://127\.0\.0\.1:\d+)`)

func startServer(ctx context.Context, t *testing.T, bin string, id identities, tlsOn bool, pki testPKI) *server {
	t.Helper()
	return startServerWith(ctx, t, bin, id, tlsOn, pki, nil)
}

// startServerWith is startServer with the pass-through model served by up
// (none when up is nil).
func startServerWith(ctx context.Context, t *testing.T, bin string, id identities, tlsOn bool, pki testPKI, up *fakeUpstream) *server {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "modelwatch.yaml")
	if err := os.WriteFile(cfgFile, []byte(config(filepath.Join(dir, "data"), id, tlsOn, pki, up)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgFile)
	cmd.Dir = dir
	cmd.Env = append(clientsuite.Environ(), "MW_SUITE_SECRET="+id.secret)
	if up != nil {
		cmd.Env = append(cmd.Env, upstreamKeyEnv+"="+up.key)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, dataDir: filepath.Join(dir, "data"), log: &lines{}, done: make(chan error, 1)}
	t.Cleanup(func() { s.stop(t) })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.log.add(sc.Text())
			if m := urlPattern.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case s.url = <-found:
	case err := <-s.done:
		s.done <- err
		t.Fatalf("serve exited before serving (%v):\n%s", err, s.log.String())
	case <-ctx.Done():
		t.Fatalf("serve did not report its URL:\n%s", s.log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not report its URL in 30s:\n%s", s.log.String())
	}
	s.http = &http.Client{Timeout: 5 * time.Second}
	if tlsOn {
		s.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}}
	}
	s.waitHealthy(ctx, t)
	t.Logf("modelwatch serve (pid %d) at %s", cmd.Process.Pid, s.url)
	return s
}

func (s *server) waitHealthy(ctx context.Context, t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/healthz", nil)
		res, err := s.http.Do(req)
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("%s: %s", res.Status, body)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("/healthz never answered 200 (%v); server log:\n%s", err, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// enableLogging turns invocation logging on with the Go SDK, so that every
// call's record can be read back from /api/invocations.
func (s *server) enableLogging(ctx context.Context, t *testing.T, id identities) {
	t.Helper()
	control := bedrock.New(bedrock.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.url),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, id.secret, ""),
		HTTPClient:   s.http,
	})
	if _, err := control.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{
		LoggingConfig: &bedrocktypes.LoggingConfig{
			S3Config:                &bedrocktypes.S3Config{BucketName: aws.String(logBucket)},
			TextDataDeliveryEnabled: aws.Bool(true),
		},
	}); err != nil {
		t.Fatalf("turning invocation logging on: %v\nserver log:\n%s", err, s.log.String())
	}
}

// stop ends the server by PID, once: SIGTERM (it drains and flushes),
// then SIGKILL if it has not exited in 30 seconds.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.stopOnce.Do(func() { s.terminate(t) })
}

func (s *server) terminate(t *testing.T) {
	select {
	case err := <-s.done:
		t.Errorf("serve (pid %d) exited before it was stopped (%v); log tail:\n%s", s.cmd.Process.Pid, err, s.log.tail(40))
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			t.Errorf("serve (pid %d) exited with %v after SIGTERM; log:\n%s", s.cmd.Process.Pid, err, s.log.String())
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("serve (pid %d) did not stop within 30s of SIGTERM; killed", s.cmd.Process.Pid)
	}
}

// runNode runs node's test runner on files with env added to a cleaned
// environment, streaming its output into the test log, and fails the test
// on a non-zero exit.
func runNode(ctx context.Context, t *testing.T, node, dir string, files []string, env map[string]string, srv *server) {
	t.Helper()
	args := []string{
		"--test",
		"--test-reporter=spec",
		"--test-concurrency=4",
		fmt.Sprintf("--test-timeout=%d", testTimeout.Milliseconds()),
		"--test-force-exit",
	}
	for _, f := range files {
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, rel)
	}
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = clientsuite.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// node --test runs each file in a child process: on timeout the whole
	// process group goes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	t.Logf("node %s (in %s)", strings.Join(args, " "), dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			t.Log(sc.Text())
		}
	}()
	wg.Wait()
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("node --test did not finish within %s; server log tail:\n%s", passTimeout, srv.log.tail(40))
	}
	if err != nil {
		t.Fatalf("node --test failed (%v); server log tail:\n%s", err, srv.log.tail(40))
	}
}

// lines collects a process's log lines.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) add(s string) {
	l.mu.Lock()
	l.all = append(l.all, s)
	l.mu.Unlock()
}

func (l *lines) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all[max(0, len(l.all)-n):], "\n")
}

func (l *lines) String() string { return l.tail(len(l.all)) }

// testPKI is a CA and a server certificate for 127.0.0.1 and localhost.
type testPKI struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
}

func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "modelwatch client suite test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := testPKI{
		caFile:   filepath.Join(dir, "ca.pem"),
		certFile: filepath.Join(dir, "server.pem"),
		keyFile:  filepath.Join(dir, "server-key.pem"),
		pool:     x509.NewCertPool(),
	}
	p.pool.AddCert(ca)
	writePEM(t, p.caFile, "CERTIFICATE", caDER)
	writePEM(t, p.certFile, "CERTIFICATE", leafDER)
	writePEM(t, p.keyFile, "PRIVATE KEY", keyDER)
	return p
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
