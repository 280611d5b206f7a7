package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/config"
)

// rawStream posts a streamed chat completion over a plain HTTP/1.1
// connection and returns the response body's chunks as the server wrote
// them (one chunk of the chunked encoding per write and flush). each, when
// set, is called after every chunk is read.
func rawStream(t *testing.T, addr, body string, each func(chunk []byte)) [][]byte {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		addr, aliceAPIKey, len(body), body)
	r := bufio.NewReader(conn)
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || len(res.TransferEncoding) == 0 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("%s, transfer encoding %v: %s", res.Status, res.TransferEncoding, b)
	}
	// http.ReadResponse would undo the chunking: read it by hand.
	var chunks [][]byte
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading a chunk size: %v", err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
		if err != nil {
			t.Fatalf("chunk size %q: %v", line, err)
		}
		if n == 0 {
			return chunks
		}
		c := make([]byte, n+2)
		if _, err := io.ReadFull(r, c); err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, c[:n])
		if each != nil {
			each(c[:n])
		}
	}
}

// TestStreamWritesWhatArrivedTogetherAtOnce: a passed-through stream's
// events that reach the gateway together go to the client in one write
// and flush, not one each; and an event that arrives alone is sent at
// once, without waiting for the next (the upstream sends its next event
// only after the client has received the previous one, so a gateway that
// held an event back would never finish).
func TestStreamWritesWhatArrivedTogetherAtOnce(t *testing.T) {
	stream := openAIReplay(t, "openai_chat_stream.sse")
	events := bytes.SplitAfter(stream, []byte("\n\n"))
	events = events[:len(events)-1] // the empty rest after the last blank line
	received := make(chan struct{}, len(events))
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		if bytes.Contains(body, []byte(`"together"`)) {
			_, _ = w.Write(stream) // every event in one write
			return
		}
		// In lockstep: each event only once the client has received the
		// one before, but for the last three (the finish chunk, the usage
		// chunk and [DONE]), which the gateway holds back until the call
		// is recorded and sends together.
		for i, ev := range events {
			_, _ = w.Write(ev)
			w.(http.Flusher).Flush()
			if i < len(events)-3 {
				select {
				case <-received:
				case <-time.After(10 * time.Second):
					t.Errorf("the client never received event %d: the gateway held it back", i)
					return
				}
			}
		}
	}))
	t.Cleanup(up.Close)
	t.Setenv("TEST_OPENAI_KEY", "sk-upstream-test")
	srv, _ := startServer(t, func(c *config.Config) {
		withAlice(c)
		c.Providers = append(c.Providers, config.Provider{Name: "openai", Type: "openai", Settings: map[string]any{"baseURL": up.URL + "/v1", "apiKeyEnv": "TEST_OPENAI_KEY"}})
		c.Models = append(c.Models, config.Model{Model: catalog.Model{ID: "openai.gpt-4o-writes-v1", Provider: "openai",
			UpstreamModel: "gpt-4o-2024-05-13", MaxOutputTokens: 4096, Streaming: true}})
	})
	addr := strings.TrimPrefix(srv.URL(), "http://")
	body := func(user string) string {
		return `{"model":"openai.gpt-4o-writes-v1","stream":true,"stream_options":{"include_usage":true},"user":"` + user + `","messages":[{"role":"user","content":"hi"}]}`
	}

	together := rawStream(t, addr, body("together"), nil)
	if got := bytes.Join(together, nil); !bytes.Equal(got, stream) {
		t.Fatalf("client got\n%s\nwant the upstream's bytes\n%s", got, stream)
	}
	// The upstream's one write reaches the gateway in a read or two (its
	// stream reader holds 4 KiB): a few writes, not one per event.
	if len(together) > 3 {
		t.Errorf("%d events arriving together went out in %d writes, want at most 3", len(events), len(together))
	}

	alone := rawStream(t, addr, body("alone"), func([]byte) { received <- struct{}{} })
	if got := bytes.Join(alone, nil); !bytes.Equal(got, stream) {
		t.Fatalf("client got\n%s\nwant the upstream's bytes\n%s", got, stream)
	}
	if len(alone) != len(events)-2 {
		t.Errorf("%d events arriving one by one went out in %d writes, want %d (one each, the last three together)", len(events), len(alone), len(events)-2)
	}
}
