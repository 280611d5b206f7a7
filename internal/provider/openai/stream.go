package openai

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	wire "github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// ConverseStream sends a streamed chat completion request. An error status
// is returned here (so the gateway can retry or fall back); the events are
// read from the response body as they arrive.
func (p *Provider) ConverseStream(ctx context.Context, call provider.Call, req *converse.Request) (provider.Stream, error) {
	body, err := p.chatBody(call, req, true)
	if err != nil {
		return nil, err
	}
	// The stream owns this context: Close cancels it, which aborts the
	// upstream request even while a read is blocked.
	ctx, cancel := context.WithCancel(ctx)
	resp, err := p.post(ctx, call, "/chat/completions", body, true)
	if err != nil {
		cancel()
		return nil, err
	}
	if isJSON(resp.Header.Get("Content-Type")) {
		// The server ignored stream: true and answered in one piece.
		defer cancel()
		defer resp.Body.Close()
		out, err := p.readCompletion(ctx, call, resp)
		if err != nil {
			return nil, err
		}
		return &provider.EventStream{Events: converse.Events(out)}, nil
	}
	return &stream{p: p, ctx: ctx, cancel: cancel, body: resp.Body, r: bufio.NewReaderSize(resp.Body, streamBufferBytes), model: model(call)}, nil
}

// stream reads an upstream's server-sent events and yields Converse events.
type stream struct {
	p      *Provider
	ctx    context.Context
	cancel context.CancelFunc
	body   io.ReadCloser
	r      *bufio.Reader
	model  string

	dec    wire.StreamDecoder
	queue  []converse.StreamEvent
	done   bool
	err    error
	closed bool
}

// Next returns the next event, io.EOF after the metadata event, or the
// error that ended the stream.
func (s *stream) Next() (*converse.StreamEvent, error) {
	for len(s.queue) == 0 {
		if s.err != nil {
			return nil, s.err
		}
		if s.done {
			return nil, io.EOF
		}
		s.fill()
	}
	ev := s.queue[0]
	s.queue = s.queue[1:]
	return &ev, nil
}

// fill reads one server-sent event and queues what it amounts to.
func (s *stream) fill() {
	data, err := s.readEvent()
	switch {
	case errors.Is(err, io.EOF):
		if s.dec.Stopped() {
			// Some servers end after the finish reason without [DONE].
			s.finish()
			return
		}
		s.fail(provider.StreamError(s.p.name, s.model, http.StatusOK, "the stream ended before the response was complete"))
	case err != nil:
		if s.ctx.Err() != nil {
			s.fail(provider.TransportError(s.p.name, s.ctx.Err()))
			return
		}
		e := provider.StreamError(s.p.name, s.model, http.StatusOK, "the connection to the model's provider was lost")
		e.Cause = fmt.Errorf("%s upstream %s: reading the stream: %w", s.p.name, s.model, err)
		s.fail(e)
	case bytes.Equal(data, []byte("[DONE]")):
		s.finish()
	default:
		if bytes.Contains(data, []byte(`"error"`)) {
			if ue, ok := wire.ParseUpstreamError(data); ok {
				status := ue.StatusCode()
				if status == 0 {
					status = http.StatusInternalServerError
				}
				s.fail(provider.StreamError(s.p.name, s.model, status, s.p.redact(ue.Message)))
				return
			}
		}
		var c wire.ChatCompletionChunk
		if err := json.Unmarshal(data, &c); err != nil {
			e := provider.StreamError(s.p.name, s.model, http.StatusOK, "the provider sent a malformed stream event")
			e.Cause = fmt.Errorf("%s upstream %s: decoding a chunk: %w", s.p.name, s.model, err)
			s.fail(e)
			return
		}
		s.queue = s.dec.Decode(&c)
	}
}

// finish queues the closing events and releases the connection.
func (s *stream) finish() {
	s.queue = append(s.queue, s.dec.End()...)
	s.done = true
	s.Close()
}

func (s *stream) fail(err error) {
	s.err = err
	s.Close()
}

// Close releases the upstream connection; it is safe to call more than
// once.
func (s *stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.cancel()
	return s.body.Close()
}

// readEvent returns the data of the next server-sent event: its data lines
// joined by newlines. Comments and other fields (event, id, retry) are
// skipped. io.EOF means the body ended with no further event.
func (s *stream) readEvent() ([]byte, error) {
	var data []byte
	have := false
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && have {
				return data, nil // the last event may lack its blank line
			}
			return nil, err
		}
		if len(line) == 0 {
			if have {
				return data, nil
			}
			continue
		}
		if line[0] == ':' {
			continue // a comment, such as a keep-alive
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		if string(field) != "data" {
			continue
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		if have {
			data = append(data, '\n')
		}
		data = append(data, value...)
		have = true
		if len(data) > maxEventBytes {
			return nil, errors.New("a stream event is larger than the limit")
		}
	}
}

// readLine returns the next line without its line ending (LF or CRLF).
func (s *stream) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxEventBytes {
			return nil, errors.New("a stream line is larger than the limit")
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				return bytes.TrimRight(line, "\r\n"), nil
			}
			return nil, err
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
}

// streamBufferBytes is the read buffer of one upstream stream. Events are
// small, and a line longer than the buffer is assembled piecewise, so a
// small buffer costs nothing but keeps thousands of open streams cheap.
const streamBufferBytes = 4 << 10
