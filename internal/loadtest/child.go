package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// benchModelID is the catalog model the gateway routes to the upstream.
const benchModelID = "bench.openai-v1"

// ConfigYAML is the serve configuration of a gateway mode: a provider of
// type openai at upstreamURL, the model bench.openai-v1 (alias bench-model)
// routed to it, and invocation logging delivery with store ("local" or
// "s3") flushed every second. Two more models on the same provider,
// bench-model-fast and bench-model-hold, reach the upstream under those
// names, which it answers without latency and holds open (the side-by-side
// phases).
func ConfigYAML(upstreamURL, store string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
log: {level: info, format: text}
metrics: {historyInterval: 1m}
invocationLogging:
  store: %[1]s
  flushInterval: 1s
  retryMin: 100ms
  retryMax: 2s
providers:
  - {name: simulator, type: simulator}
  - name: bench
    type: openai
    baseURL: %[2]s
    retries: 0
models:
  - id: %[3]s
    name: Bench upstream
    vendor: Bench
    family: anthropic
    provider: bench
    upstreamModel: %[4]s
    aliases: [%[4]s]
    streaming: true
    maxOutputTokens: 4096
    timeout: 10m
  - id: bench.openai-fast-v1
    name: Bench upstream without latency
    vendor: Bench
    family: anthropic
    provider: bench
    upstreamModel: %[5]s
    aliases: [%[5]s]
    streaming: true
    maxOutputTokens: 4096
    timeout: 10m
  - id: bench.openai-hold-v1
    name: Bench upstream holding streams open
    vendor: Bench
    family: anthropic
    provider: bench
    upstreamModel: %[6]s
    aliases: [%[6]s]
    streaming: true
    maxOutputTokens: 4096
    timeout: 10m
`, store, upstreamURL, benchModelID, upstreamModel, fastModel, holdModel)
}

// child is a `modelwatch serve` process.
type child struct {
	cmd  *exec.Cmd
	url  string
	dir  string
	done chan struct{}
	hc   *http.Client

	mu   sync.Mutex
	tail []string // the last lines of its log
}

const tailLines = 100

// startChild runs bin serve with the configuration and waits until it
// reports its URL.
func startChild(bin, dir, configYAML string, env []string) (*child, error) {
	cfgPath := filepath.Join(dir, "modelwatch.yaml")
	if err := os.WriteFile(cfgPath, []byte(configYAML), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath, "--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	c := &child{cmd: cmd, dir: dir, done: make(chan struct{}), hc: &http.Client{Timeout: 30 * time.Second}}
	urlc := make(chan string, 1)
	go c.readLog(stderr, urlc)
	go func() { _ = cmd.Wait(); close(c.done) }()
	select {
	case c.url = <-urlc:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("serve exited before it was ready:\n%s", c.logTail())
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, fmt.Errorf("serve did not report its URL in 30s:\n%s", c.logTail())
	}
}

var urlRE = regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)

func (c *child) readLog(r io.Reader, urlc chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		c.mu.Lock()
		c.tail = append(c.tail, line)
		if len(c.tail) > tailLines {
			c.tail = c.tail[len(c.tail)-tailLines:]
		}
		c.mu.Unlock()
		if !sent {
			if m := urlRE.FindStringSubmatch(line); m != nil {
				urlc <- m[1]
				sent = true
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

func (c *child) logTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

// stop sends SIGTERM, waits up to 30 s for a clean exit, then kills.
func (c *child) stop() error {
	select {
	case <-c.done:
		return nil
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		if !c.cmd.ProcessState.Success() {
			return fmt.Errorf("serve exited with %v after SIGTERM:\n%s", c.cmd.ProcessState, c.logTail())
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return errors.New("serve did not stop within 30s of SIGTERM; killed")
	}
}

// dataDir is the child's --data-dir.
func (c *child) dataDir() string { return filepath.Join(c.dir, "data") }

// memory returns the child's peak and current resident memory in bytes
// (VmHWM and VmRSS of /proc/<pid>/status).
func (c *child) memory() (hwm, rss int64, err error) {
	return procMemory(c.cmd.Process.Pid)
}

func procMemory(pid int) (hwm, rss int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmHWM":
			dst = &hwm
		case "VmRSS":
			dst = &rss
		default:
			continue
		}
		f := strings.Fields(v) // "12345 kB"
		if len(f) == 2 && f[1] == "kB" {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			*dst = n << 10
		}
	}
	return hwm, rss, nil
}

// putLogging switches invocation logging on to bucket with the Bedrock
// control-plane API (anonymous on loopback).
func (c *child) putLogging(ctx context.Context, bucket string) error {
	body := fmt.Sprintf(`{"loggingConfig":{"s3Config":{"bucketName":%q,"keyPrefix":"bench"},"textDataDeliveryEnabled":true}}`, bucket)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, c.url+"/logging/modelinvocations", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PutModelInvocationLoggingConfiguration: %s: %s", resp.Status, b)
	}
	return nil
}

// metrics scrapes /metrics and returns, for each sample line, the value
// keyed by the line's name and labels as written.
func (c *child) metrics(ctx context.Context) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/metrics", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text format into series → value.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// sumMetric adds the values of every series of name whose labels contain
// all of the given name="value" pairs.
func sumMetric(m map[string]float64, name string, labels ...string) float64 {
	var sum float64
	for series, v := range m {
		n, rest, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				match = false
				break
			}
		}
		if match {
			sum += v
		}
	}
	return sum
}
