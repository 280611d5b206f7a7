package minio

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// BinEnv names the environment variable that, when set, is the path of the
// MinIO binary to run.
const BinEnv = "MODELWATCH_MINIO_BIN"

// InstallHint says how to install MinIO.
const InstallHint = "go install github.com/minio/minio@latest"

const (
	startTimeout = 30 * time.Second // until MinIO is live and answers signed requests
	stopTimeout  = 5 * time.Second  // between SIGTERM and SIGKILL
)

// Server is a running MinIO server. Its methods are safe for concurrent
// use.
type Server struct {
	// Endpoint is the S3 API's base URL, http://127.0.0.1:<port>.
	Endpoint string
	// AccessKey is the root user (MINIO_ROOT_USER).
	AccessKey string
	// SecretKey is the root password (MINIO_ROOT_PASSWORD).
	SecretKey string
	// Region is the region MinIO answers for, "us-east-1".
	Region string

	bin      string
	dataDir  string
	certsDir string
	addr     string // S3 API host:port
	console  string // console host:port

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *syncBuffer
}

// Installed reports whether a MinIO binary can be found (see Launch).
func Installed() bool {
	_, err := findBinary()
	return err == nil
}

// ErrNotInstalled is returned (wrapped) by Launch when no MinIO binary can
// be found.
var ErrNotInstalled = errors.New("minio binary not found")

// Launch runs a MinIO server on free 127.0.0.1 ports with random root
// credentials and its data under dir (which must exist; the caller removes
// it), and waits until it is live. The caller must call Stop.
//
// The binary is $MODELWATCH_MINIO_BIN, else minio on PATH, else
// $GOPATH/bin/minio (GOPATH defaulting to ~/go).
func Launch(dir string) (*Server, error) {
	bin, err := findBinary()
	if err != nil {
		return nil, fmt.Errorf("minio: %w; install MinIO with %q (into $GOPATH/bin) or set %s", err, InstallHint, BinEnv)
	}
	s := &Server{
		AccessKey: "modelwatch-" + randHex(6),
		SecretKey: "mwsecret-" + randHex(12),
		Region:    "us-east-1",
		bin:       bin,
		dataDir:   filepath.Join(dir, "data"),
		certsDir:  filepath.Join(dir, "certs"),
		out:       &syncBuffer{},
	}
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("minio: %w", err)
	}
	// A free port may be taken between probing and MinIO binding it; retry
	// with new ports in that case.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return nil, fmt.Errorf("minio: %w", err)
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		s.console = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
		s.Endpoint = "http://" + s.addr
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
		s.Stop()
		if !errors.Is(lastErr, errExited) {
			break
		}
	}
	return nil, fmt.Errorf("minio: %w\nMinIO output:\n%s", lastErr, s.Output())
}

// Env returns the environment that points the AWS SDK (in a child process)
// at the server: AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION, and an empty AWS_SESSION_TOKEN so an
// inherited one is not sent along with the static keys. Append it to
// os.Environ(): later entries win.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint,
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + s.Region,
		"AWS_SESSION_TOKEN=",
	}
}

// S3Client returns an S3 client for the server: path-style addressing,
// the root credentials, independent of the process's AWS configuration.
// Like a client from config.LoadDefaultConfig, it sends and validates
// CRC32 checksums whenever the operation supports them.
func (s *Server) S3Client() *s3.Client { return s.client() }

func (s *Server) client() *s3.Client {
	return s3.New(s3.Options{
		Region:                     s.Region,
		BaseEndpoint:               aws.String(s.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
}

// PID returns the server process's id, or 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil || s.isDone() {
		return 0
	}
	return s.cmd.Process.Pid
}

// Output returns what the server has printed so far (all runs).
func (s *Server) Output() string { return s.out.String() }

// Stop stops the server: SIGTERM, then SIGKILL after 5 s, and waits for the
// process to exit. The data directory is kept. Stop is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	if !s.isDone() {
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			_ = s.cmd.Process.Kill()
		}
		select {
		case <-s.done:
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	s.cmd = nil
}

// Restart stops the server and starts it again on the same ports with the
// same data, for tests of an S3 outage and recovery.
func (s *Server) Restart() error {
	s.Stop()
	if err := s.start(); err != nil {
		s.Stop()
		return fmt.Errorf("minio: restart: %w\nMinIO output:\n%s", err, s.Output())
	}
	return nil
}

// start runs the process and waits until it is live.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("already running")
	}
	fmt.Fprintf(s.out, "--- minio: starting %s on %s\n", s.bin, s.addr)
	cmd := exec.Command(s.bin, "server", s.dataDir,
		"--address", s.addr,
		"--console-address", s.console,
		"--certs-dir", s.certsDir, // instead of ~/.minio/certs
		"--quiet")
	cmd.Env = append(minioFreeEnv(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	setProcAttr(cmd)
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(s.out, "--- minio: MinIO exited: %v\n", errOrOK(err))
		close(done)
	}()
	s.cmd, s.done = cmd, done
	if err := s.waitLive(done); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "--- minio: live after %v\n", time.Since(begin).Round(time.Millisecond))
	return nil
}

// waitLive polls /minio/health/live until it answers 200 and MinIO serves
// signed requests.
func (s *Server) waitLive(done <-chan struct{}) error {
	url := s.Endpoint + "/minio/health/live"
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("%w on %s", errExited, s.addr)
		default:
		}
		if resp, err := hc.Get(url); err == nil {
			resp.Body.Close()
			// Live is not ready: until its IAM subsystem is up, MinIO
			// answers signed requests with 503 XMinioIAMNotInitialized.
			if resp.StatusCode == http.StatusOK && s.answersSigned() {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("MinIO not live on %s after %v", s.addr, startTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answersSigned reports whether an authenticated ListBuckets succeeds and
// a request signed with a key MinIO does not know gets its answer rather
// than 503 XMinioIAMNotInitialized: the root credentials work before the
// IAM subsystem is up, other keys only after it.
func (s *Server) answersSigned() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	once := func(o *s3.Options) { o.RetryMaxAttempts = 1 }
	if _, err := s.client().ListBuckets(ctx, &s3.ListBucketsInput{}, once); err != nil {
		return false
	}
	stranger := s3.New(s.client().Options(), func(o *s3.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider("minio-readiness-probe", "not-a-secret", "")
	})
	_, err := stranger.ListBuckets(ctx, &s3.ListBucketsInput{}, once)
	var code interface{ ErrorCode() string }
	return errors.As(err, &code) && code.ErrorCode() != "XMinioIAMNotInitialized" && code.ErrorCode() != "XMinioServerNotInitialized"
}

// errExited: the process ended on its own before it was live (e.g. its
// port was taken), as opposed to not answering in time.
var errExited = errors.New("MinIO exited before becoming live")

// isDone reports whether the process has exited; s.mu must be held.
func (s *Server) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func errOrOK(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// findBinary locates the MinIO binary.
func findBinary() (string, error) {
	if p := os.Getenv(BinEnv); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("%s=%s: not an executable file", BinEnv, p)
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	var tried []string
	for _, dir := range filepath.SplitList(gopath) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, "bin", "minio")
		tried = append(tried, p)
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (%s unset, not on PATH, not at %s)", ErrNotInstalled, BinEnv, strings.Join(tried, ", "))
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// minioFreeEnv is the process environment without MINIO_* variables, so a
// developer's MinIO settings do not leak into the server.
func minioFreeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIO_") {
			env = append(env, kv)
		}
	}
	return env
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
