package loadtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// upstreamModel is the model name the upstream reports and the alias the
// gateway routes, so the same request body works direct and through the
// gateway.
const upstreamModel = "bench-model"

const chunkPrefix = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":[{"index":0,"delta":`

var (
	completionBody = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the bench upstream."},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":9,"completion_tokens":6,"total_tokens":15}}`)
	streamFirst  = []byte(chunkPrefix + `{"role":"assistant","content":"Hello"},"finish_reason":null}]}` + "\n\n")
	streamTokens = [][]byte{
		[]byte(chunkPrefix + `{"content":" from"},"finish_reason":null}]}` + "\n\n"),
		[]byte(chunkPrefix + `{"content":" the"},"finish_reason":null}]}` + "\n\n"),
		[]byte(chunkPrefix + `{"content":" bench"},"finish_reason":null}]}` + "\n\n"),
		[]byte(chunkPrefix + `{"content":" upstream."},"finish_reason":null}]}` + "\n\n"),
	}
	streamTrickle = []byte(chunkPrefix + `{"content":" more"},"finish_reason":null}]}` + "\n\n")
	streamEnd     = []byte(chunkPrefix + `{},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":[],` +
		`"usage":{"prompt_tokens":9,"completion_tokens":6,"total_tokens":15}}` + "\n\n" +
		"data: [DONE]\n\n")
	streamMarker = []byte(`"stream":true`)
	// fastMarker and holdMarker are the models (upstream names, so they
	// reach the upstream through every proxy, the gateway included) that
	// ask for no latency and for a held-open stream: one upstream serves
	// every phase of the side-by-side run, each target started once.
	fastMarker = []byte(fastModel)
	holdMarker = []byte(holdModel)
)

// The upstream model names of the side-by-side phases (see fastMarker).
const (
	fastModel = "bench-model-fast" // answered at once, whatever the latency
	holdModel = "bench-model-hold" // streamed and held open like upstream.hold
)

// longStreamChunks is the number of JSON chunks of a long stream: the role
// and first token, 14 more tokens, the finish chunk and the usage chunk,
// each written and flushed on its own, then data: [DONE].
const longStreamChunks = 17

// longStreamTokens are the 14 tokens after the first of a long stream.
var longStreamTokens = func() [][]byte {
	words := []string{" from", " the", " bench", " upstream,", " one", " token", " per", " chunk,", " seventeen", " chunks", " in", " all", " before", " done."}
	out := make([][]byte, len(words))
	for i, w := range words {
		out[i] = []byte(chunkPrefix + `{"content":"` + w + `"},"finish_reason":null}]}` + "\n\n")
	}
	return out
}()

// The finish and usage chunks and the end of a long stream, written apart.
var (
	streamFinish = []byte(chunkPrefix + `{},"finish_reason":"stop"}]}` + "\n\n")
	streamUsage  = []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model","choices":[],` +
		`"usage":{"prompt_tokens":9,"completion_tokens":15,"total_tokens":24}}` + "\n\n")
	streamDone = []byte("data: [DONE]\n\n")
)

// upstream is an OpenAI-compatible server with a fixed latency and fixed
// answers. It decodes nothing: a body containing "stream":true is answered
// with server-sent events, anything else with one completion; a body naming
// fastModel is answered without the latency, and a stream naming holdModel
// is held open when markHold is set.
type upstream struct {
	latency time.Duration
	// hold, when positive, keeps streams open after the first token,
	// sending one more token every hold until the client goes away.
	hold time.Duration
	// markHold is the hold of streams whose body names holdModel.
	markHold time.Duration
	// long sends streams of longStreamChunks chunks, each flushed alone.
	long bool

	ln   net.Listener
	srv  *http.Server
	done chan struct{}
	bufs sync.Pool
}

// startUpstream listens on a free 127.0.0.1 port and serves until close.
func startUpstream(latency, hold time.Duration) (*upstream, error) {
	return startUpstreamWith(&upstream{latency: latency, hold: hold})
}

// startUpstreamWith starts u, whose settings are set, on a free 127.0.0.1
// port.
func startUpstreamWith(u *upstream) (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u.ln, u.done = ln, make(chan struct{})
	u.bufs.New = func() any { return new(bytes.Buffer) }
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", u.chat)
	u.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	// HTTP/1.1 and h2c (prior knowledge), as a gateway with
	// Config.UpstreamH2C speaks it; many streams share an h2 connection.
	u.srv.Protocols = new(http.Protocols)
	u.srv.Protocols.SetHTTP1(true)
	u.srv.Protocols.SetUnencryptedHTTP2(true)
	u.srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 100000}
	go func() { _ = u.srv.Serve(ln); close(u.done) }()
	return u, nil
}

// URL is the API root, http://127.0.0.1:<port>/v1.
func (u *upstream) URL() string { return "http://" + u.ln.Addr().String() + "/v1" }

func (u *upstream) close() {
	_ = u.srv.Close()
	<-u.done
}

func (u *upstream) chat(w http.ResponseWriter, r *http.Request) {
	buf := u.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(io.LimitReader(r.Body, 1<<20))
	b := buf.Bytes()
	stream := bytes.Contains(b, streamMarker)
	latency, hold := u.latency, u.hold
	if bytes.Contains(b, fastMarker) {
		latency = 0
	} else if hold == 0 && u.markHold > 0 && bytes.Contains(b, holdMarker) {
		hold = u.markHold
	}
	u.bufs.Put(buf)
	if err != nil {
		return
	}
	if !sleepCtx(r.Context(), latency) {
		return
	}
	h := w.Header()
	if !stream {
		h["Content-Type"] = []string{"application/json"}
		_, _ = w.Write(completionBody)
		return
	}
	h["Content-Type"] = []string{"text/event-stream"}
	h["Cache-Control"] = []string{"no-cache"}
	fl, _ := w.(http.Flusher)
	write := func(b []byte) bool {
		if _, err := w.Write(b); err != nil {
			return false
		}
		if fl != nil {
			fl.Flush()
		}
		return true
	}
	if !write(streamFirst) {
		return
	}
	if hold > 0 {
		t := time.NewTicker(hold)
		defer t.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-t.C:
				if !write(streamTrickle) {
					return
				}
			}
		}
	}
	if u.long {
		for _, tok := range longStreamTokens {
			if !write(tok) {
				return
			}
		}
		_ = write(streamFinish) && write(streamUsage) && write(streamDone)
		return
	}
	for _, tok := range streamTokens {
		if !write(tok) {
			return
		}
	}
	write(streamEnd)
}

// sleepCtx sleeps d unless ctx ends first, reporting whether it slept.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

var errStreamNoToken = errors.New("stream ended before its first token")
