package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The external tools of the side-by-side run (InstallHints says how to
// install each).
const (
	ToolNginx  = "nginx"
	ToolWrk    = "wrk"
	ToolVegeta = "vegeta"
)

// VegetaVersion is the vegeta the side-by-side run was written against
// (and the version the module proxy offers here).
const VegetaVersion = "v12.13.0"

// InstallHints says how to install each external tool.
var InstallHints = map[string]string{
	ToolNginx:  "apt-get install -y nginx-light",
	ToolWrk:    "apt-get install -y wrk",
	ToolVegeta: "go install github.com/tsenart/vegeta/v12@" + VegetaVersion,
}

// findTool looks name up on PATH, then where Debian (sbin) and go install
// (GOBIN, GOPATH/bin, ~/go/bin) put it. It returns "" when it is nowhere.
func findTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	dirs := []string{"/usr/sbin", "/usr/local/sbin", "/sbin", os.Getenv("GOBIN")}
	if gp := os.Getenv("GOPATH"); gp != "" {
		for _, d := range filepath.SplitList(gp) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// toolVersion is the first line a tool prints about its version, or "".
func toolVersion(name, path string) string {
	var args []string
	switch name {
	case ToolNginx:
		args = []string{"-v"}
	case ToolWrk:
		args = []string{"-v"}
	case ToolVegeta:
		// vegeta installed with go install prints no version of its
		// own; the module's build information has it.
		out, err := exec.Command("go", "version", "-m", path).Output()
		if err == nil {
			for _, line := range strings.Split(string(out), "\n") {
				f := strings.Fields(line)
				if len(f) >= 3 && f[0] == "mod" {
					return f[1] + " " + f[2]
				}
			}
		}
		args = []string{"-version"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, path, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return cleanVersion(line)
}

// cleanVersion keeps the version of a tool's version line: "nginx
// version: nginx/1.22.1" is nginx/1.22.1, "wrk debian/4.1.0-3+b2 [epoll]
// Copyright ..." is wrk debian/4.1.0-3+b2.
func cleanVersion(line string) string {
	line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "nginx version:"))
	if i := strings.Index(line, " ["); i > 0 {
		line = line[:i]
	}
	if i := strings.Index(line, " Copyright"); i > 0 {
		line = line[:i]
	}
	return strings.TrimSpace(line)
}

// vegetaReport is the part of `vegeta report -type=json` the benchmark
// reads. Latencies are in nanoseconds, over every request (failed ones
// too).
type vegetaReport struct {
	Latencies struct {
		Mean float64 `json:"mean"`
		P50  float64 `json:"50th"`
		P90  float64 `json:"90th"`
		P95  float64 `json:"95th"`
		P99  float64 `json:"99th"`
		Max  float64 `json:"max"`
		Min  float64 `json:"min"`
	} `json:"latencies"`
	Duration    int64            `json:"duration"` // ns, first to last request sent
	Wait        int64            `json:"wait"`     // ns, last request sent to its answer
	Requests    int64            `json:"requests"`
	Rate        float64          `json:"rate"`       // requests sent per second
	Throughput  float64          `json:"throughput"` // successful requests per second
	Success     float64          `json:"success"`    // share of 2xx
	StatusCodes map[string]int64 `json:"status_codes"`
	Errors      []string         `json:"errors"`
}

// parseVegetaReport reads `vegeta report -type=json` output.
func parseVegetaReport(b []byte) (*vegetaReport, error) {
	var r vegetaReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("vegeta report: %w", err)
	}
	if r.Requests == 0 && r.StatusCodes == nil {
		return nil, errors.New("vegeta report: no requests")
	}
	return &r, nil
}

// ok is the number of requests answered 200.
func (r *vegetaReport) ok() int64 { return r.StatusCodes["200"] }

// percentiles converts the latencies to Percentiles (µs); vegeta has no
// p99.9.
func (r *vegetaReport) percentiles() Percentiles {
	us := func(ns float64) float64 { return ns / 1e3 }
	return Percentiles{Count: int(r.Requests), P50: us(r.Latencies.P50), P90: us(r.Latencies.P90), P99: us(r.Latencies.P99), Max: us(r.Latencies.Max)}
}

// errorMap counts the requests not answered 200 by status code ("status
// 503"), those without an answer as "transport".
func (r *vegetaReport) errorMap() map[string]int64 {
	m := map[string]int64{}
	for code, n := range r.StatusCodes {
		switch code {
		case "200":
		case "0":
			m["transport"] += n
		default:
			m["status "+code] += n
		}
	}
	return m
}

// messages are the first few distinct errors vegeta saw.
func (r *vegetaReport) messages() []string {
	if len(r.Errors) > 3 {
		return append(r.Errors[:3:3], fmt.Sprintf("and %d more", len(r.Errors)-3))
	}
	return r.Errors
}

// vegetaTargets is a vegeta target in its http format: a POST of the body
// file with a JSON content type.
func vegetaTargets(url, bodyFile string) string {
	return fmt.Sprintf("POST %s\nContent-Type: application/json\n@%s\n", url, bodyFile)
}

// runVegeta attacks url with body at rate for duration from 127.0.0.1 and
// returns vegeta's JSON report. Its files go under dir.
func runVegeta(ctx context.Context, bin, dir, url string, body []byte, rate float64, duration time.Duration) (*vegetaReport, error) {
	bodyFile := filepath.Join(dir, "vegeta-body.json")
	targets := filepath.Join(dir, "vegeta-targets.txt")
	results := filepath.Join(dir, "vegeta-results.bin")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(targets, []byte(vegetaTargets(url, bodyFile)), 0o644); err != nil {
		return nil, err
	}
	defer os.Remove(results)
	// Bounded: the attack's duration, its 30 s request timeout and slack.
	actx, cancel := context.WithTimeout(ctx, duration+time.Minute)
	defer cancel()
	attack := exec.CommandContext(actx, bin, "attack", "-targets", targets, "-rate", strconv.FormatFloat(rate, 'f', -1, 64)+"/1s",
		"-duration", duration.String(), "-timeout", "30s", "-laddr", "127.0.0.1", "-output", results)
	var stderr bytes.Buffer
	attack.Stderr = &stderr
	if err := attack.Run(); err != nil {
		return nil, fmt.Errorf("vegeta attack: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	stderr.Reset()
	report := exec.CommandContext(actx, bin, "report", "-type=json", results)
	report.Stderr = &stderr
	out, err := report.Output()
	if err != nil {
		return nil, fmt.Errorf("vegeta report: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return parseVegetaReport(out)
}

// wrkResultPrefix starts the line the wrk script's done() prints.
const wrkResultPrefix = "WRK_RESULT "

// wrkScript is the Lua script that makes wrk POST body as JSON and print
// its summary as one JSON line.
func wrkScript(body []byte) string {
	// A long bracket no body contains.
	eq := "="
	for strings.Contains(string(body), "]"+eq+"]") {
		eq += "="
	}
	return fmt.Sprintf(`-- Generated by modelwatch bench --side-by-side.
wrk.method = "POST"
wrk.body = [%[2]s[%[1]s]%[2]s]
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  io.write(string.format('%[3]s{"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect_errors":%%d,"read_errors":%%d,"write_errors":%%d,"status_errors":%%d,"timeouts":%%d,"p50_us":%%.0f,"p99_us":%%.0f,"max_us":%%.0f}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`, body, eq, wrkResultPrefix)
}

// wrkResult is what the wrk script's done() prints.
type wrkResult struct {
	Requests      int64   `json:"requests"`
	DurationUS    int64   `json:"duration_us"`
	Bytes         int64   `json:"bytes"`
	ConnectErrors int64   `json:"connect_errors"`
	ReadErrors    int64   `json:"read_errors"`
	WriteErrors   int64   `json:"write_errors"`
	StatusErrors  int64   `json:"status_errors"` // answers other than 2xx and 3xx
	Timeouts      int64   `json:"timeouts"`
	P50US         float64 `json:"p50_us"`
	P99US         float64 `json:"p99_us"`
	MaxUS         float64 `json:"max_us"`
}

// parseWrkOutput finds the script's result line in wrk's output.
func parseWrkOutput(out []byte) (*wrkResult, error) {
	for _, line := range strings.Split(string(out), "\n") {
		if j, ok := strings.CutPrefix(strings.TrimSpace(line), wrkResultPrefix); ok {
			var r wrkResult
			if err := json.Unmarshal([]byte(j), &r); err != nil {
				return nil, fmt.Errorf("wrk result: %w", err)
			}
			return &r, nil
		}
	}
	return nil, fmt.Errorf("wrk printed no result line: %s", strings.TrimSpace(string(out)))
}

// ok is the number of requests answered 2xx or 3xx.
func (r *wrkResult) ok() int64 { return r.Requests - r.StatusErrors }

// errorMap lists wrk's errors by kind.
func (r *wrkResult) errorMap() map[string]int64 {
	m := map[string]int64{}
	for k, v := range map[string]int64{"connect": r.ConnectErrors, "read": r.ReadErrors, "write": r.WriteErrors, "status non-2xx": r.StatusErrors, "timeout": r.Timeouts} {
		if v > 0 {
			m[k] = v
		}
	}
	return m
}

// runWrk runs wrk with threads and connections against url for duration,
// POSTing body; its script goes under dir.
func runWrk(ctx context.Context, bin, dir, url string, body []byte, threads, connections int, duration time.Duration) (*wrkResult, error) {
	script := filepath.Join(dir, "wrk-post.lua")
	if err := os.WriteFile(script, []byte(wrkScript(body)), 0o644); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, duration+30*time.Second)
	defer cancel()
	secs := max(1, int(duration.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(wctx, bin, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(connections),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "10s", "-s", script, url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("wrk: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return parseWrkOutput(out)
}
