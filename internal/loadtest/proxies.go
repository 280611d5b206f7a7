package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ReverseProxyChildFlag is the hidden first argument of `modelwatch bench`
// that runs ServeReverseProxy instead of the benchmark: the side-by-side
// run starts its bare Go proxy floor as `<binary> bench
// --reverse-proxy-child <upstream URL>`, a process of its own whose CPU and
// memory are read like the gateway's.
const ReverseProxyChildFlag = "--reverse-proxy-child"

// ServeReverseProxy is the bare Go reverse proxy floor: the standard
// library's httputil.ReverseProxy forwarding everything to upstream (an
// origin such as http://127.0.0.1:8080), streams flushed as they come
// (FlushInterval -1), with a keep-alive pool as large as nginx's. It
// listens on a free 127.0.0.1 port, writes "listening http://ADDR" and a
// newline to ready, and serves until ctx ends.
func ServeReverseProxy(ctx context.Context, upstream string, ready io.Writer) error {
	target, err := url.Parse(upstream)
	if err != nil || target.Host == "" {
		return fmt.Errorf("upstream %q: want an absolute URL", upstream)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	proxy := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		FlushInterval: -1,
		Transport:     &http.Transport{MaxIdleConnsPerHost: nginxKeepalive, IdleConnTimeout: 90 * time.Second, DisableCompression: true},
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if _, err := fmt.Fprintf(ready, "listening http://%s\n", ln.Addr()); err != nil {
		_ = ln.Close()
		return err
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// proxyProc is a floor proxy run as a child: the bare Go proxy or nginx.
type proxyProc struct {
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:port
	done chan struct{}
	pids []int // the processes measured: the child, and nginx's workers
	tail *tailBuffer
}

// stop sends SIGTERM, waits up to 10 s, then kills; nginx's workers end
// with their master.
func (p *proxyProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	// A worker left behind by a killed master is ours too: it was
	// reparented, and still has nginx's name.
	for i, pid := range p.pids {
		if i == 0 {
			continue
		}
		if s, err := readProcStat(pid); err == nil && s.PPID != p.cmd.Process.Pid && s.Comm == "nginx" {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// tailBuffer keeps the last lines written to it, for error messages.
type tailBuffer struct {
	lines []string
	part  []byte
}

// Write keeps b's complete lines, the last 50 of them.
func (t *tailBuffer) Write(b []byte) (int, error) {
	t.part = append(t.part, b...)
	for {
		i := strings.IndexByte(string(t.part), '\n')
		if i < 0 {
			break
		}
		t.lines = append(t.lines, string(t.part[:i]))
		if len(t.lines) > 50 {
			t.lines = t.lines[1:]
		}
		t.part = t.part[i+1:]
	}
	return len(b), nil
}

// String is the lines kept and the unfinished one.
func (t *tailBuffer) String() string { return strings.Join(append(t.lines, string(t.part)), "\n") }

// startGoProxy runs bin bench --reverse-proxy-child upstream and waits for
// its address.
func startGoProxy(bin, upstream string) (*proxyProc, error) {
	cmd := exec.Command(bin, "bench", ReverseProxyChildFlag, upstream)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &proxyProc{cmd: cmd, done: make(chan struct{}), tail: &tailBuffer{}}
	cmd.Stderr = p.tail
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				select {
				case urlc <- u:
				default:
				}
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	select {
	case p.url = <-urlc:
		p.pids = []int{cmd.Process.Pid}
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("the Go reverse proxy exited before it was ready: %s", p.tail)
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, errors.New("the Go reverse proxy did not report its address in 30s")
	}
}

// nginxKeepalive is the idle upstream connections nginx keeps per worker,
// and the Go proxy's MaxIdleConnsPerHost.
const nginxKeepalive = 256

// NginxConfig is the nginx configuration of the nginx floor, for nginx run
// with -p dir: worker processes one per core (auto), a keep-alive pool of
// upstream connections over HTTP/1.1, no access log, responses passed on
// as they come (proxy_buffering off, which streams need) and request bodies
// kept in memory. listen and upstream are host:port pairs on 127.0.0.1.
func NginxConfig(dir, listen, upstream string) string {
	return fmt.Sprintf(`# Generated by modelwatch bench --side-by-side.
worker_processes auto;
worker_rlimit_nofile 65536;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;

events {
    worker_connections 16384;
}

http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;

    upstream bench_upstream {
        server %[3]s;
        keepalive %[4]d;
    }

    server {
        listen %[2]s;
        keepalive_requests 100000;
        client_body_buffer_size 1m;

        location / {
            proxy_pass http://bench_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 10m;
        }
    }
}
`, dir, listen, upstream, nginxKeepalive)
}

// startNginx runs nginx in the foreground (daemon off) with a generated
// configuration under dir, proxying to upstream (host:port), and waits
// until it accepts connections and its workers are up.
func startNginx(bin, dir, upstream string) (*proxyProc, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := startNginxOnce(bin, dir, upstream)
		if err == nil {
			return p, nil
		}
		lastErr = err // most likely the free port was taken meanwhile
	}
	return nil, lastErr
}

func startNginxOnce(bin, dir, upstream string) (*proxyProc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	listen := ln.Addr().String()
	_ = ln.Close()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(NginxConfig(dir, listen, upstream)), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-g", "daemon off;")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &proxyProc{cmd: cmd, url: "http://" + listen, done: make(chan struct{}), tail: &tailBuffer{}}
	cmd.Stdout, cmd.Stderr = p.tail, p.tail
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-p.done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return nil, fmt.Errorf("nginx exited: %s %s", p.tail, log)
		default:
		}
		if c, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
			_ = c.Close()
			if len(childPIDs(cmd.Process.Pid)) > 0 {
				// The master forks its workers one after another: give
				// the last a moment, then take them all.
				time.Sleep(300 * time.Millisecond)
				p.pids = append([]int{cmd.Process.Pid}, childPIDs(cmd.Process.Pid)...)
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("nginx did not accept connections on %s in 15s: %s", listen, p.tail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
