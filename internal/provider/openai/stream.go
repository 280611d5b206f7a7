package openai

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	wire "github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// ConverseStream sends a streamed chat completion request. An error status
// is returned here (so the gateway can retry or fall back); the events are
// read from the response body as they arrive.
func (p *Provider) ConverseStream(ctx context.Context, call provider.Call, req *converse.Request) (provider.Stream, error) {
	body, err := p.chatBody(call, req, true)
	if err != nil {
		return nil, err
	}
	s, whole, err := p.openStream(ctx, call, body)
	if err != nil || s != nil {
		return s, err
	}
	// The server ignored stream: true and answered in one piece.
	out, err := p.parseCompletion(call, whole)
	if err != nil {
		return nil, err
	}
	return &provider.EventStream{Events: converse.Events(out)}, nil
}

// openStream posts a stream request and returns the open stream, or, from
// a server that ignored stream: true and answered in one piece, that
// answer's body.
func (p *Provider) openStream(ctx context.Context, call provider.Call, body []byte) (*stream, []byte, error) {
	// The stream owns this context: Close cancels it, which aborts the
	// upstream request even while a read is blocked.
	ctx, cancel := context.WithCancel(ctx)
	resp, err := p.post(ctx, call, "/chat/completions", body, true)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	if isJSON(resp.Header.Get("Content-Type")) {
		defer cancel()
		defer resp.Body.Close()
		data, err := readLimited(resp.Body, maxResponseBytes)
		if err != nil {
			return nil, nil, p.readError(ctx, call, err)
		}
		return nil, data, nil
	}
	return &stream{p: p, ctx: ctx, cancel: cancel, body: resp.Body, r: bufio.NewReaderSize(resp.Body, streamBufferBytes), model: model(call)}, nil, nil
}

// stream reads an upstream's server-sent events and yields Converse events.
type stream struct {
	p      *Provider
	ctx    context.Context
	cancel context.CancelFunc
	body   io.ReadCloser
	r      *bufio.Reader
	model  string

	dec    translate.ChatStreamDecoder
	queue  []converse.StreamEvent
	next   int // the queue's next event
	done   bool
	err    error
	closed bool

	// data and line are reused for each event's data and each line.
	data, line []byte
	chunk      wire.ChatCompletionChunk

	// raw: the stream is passed through, and each event's upstream bytes
	// are handed over (Raw). pending holds the bytes read but not yet
	// handed over; out is what Raw returns. dropUsage leaves the usage
	// chunk, which the caller did not ask for, out of them.
	raw       bool
	dropUsage bool
	pending   []byte
	out       []byte
}

// Next returns the next event, io.EOF after the metadata event, or the
// error that ended the stream.
func (s *stream) Next() (*converse.StreamEvent, error) {
	if s.next == len(s.queue) {
		s.queue, s.next = s.queue[:0], 0
	}
	for len(s.queue) == 0 {
		if s.err != nil {
			return nil, s.err
		}
		if s.done {
			return nil, io.EOF
		}
		s.fill()
	}
	ev := &s.queue[s.next]
	s.next++
	if s.raw {
		// The bytes read so far go with this event; the buffers swap,
		// so the ones handed over stay valid until the next call.
		s.out, s.pending = s.pending, s.out[:0]
	}
	return ev, nil
}

// Raw implements provider.RawStream (for a stream passed through): the
// upstream bytes that carried the event Next returned.
func (s *stream) Raw() []byte { return s.out }

// Buffered implements provider.Buffered: an event is decoded and waiting,
// the stream has ended, or a whole event is in the read buffer.
func (s *stream) Buffered() bool {
	if s.next < len(s.queue) || s.done || s.err != nil {
		return true
	}
	n := s.r.Buffered()
	if n == 0 {
		return false
	}
	b, _ := s.r.Peek(n)
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\n\r\n"))
}

// fill reads one server-sent event and queues what it amounts to.
func (s *stream) fill() {
	mark := len(s.pending)
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
		// The chunk and its choices are reused; encoding/json decodes
		// into a slice's old elements without clearing them first.
		c := &s.chunk
		choices := c.Choices[:cap(c.Choices)]
		clear(choices)
		*c = wire.ChatCompletionChunk{Choices: choices[:0]}
		if err := decodeChunk(data, c); err != nil {
			e := provider.StreamError(s.p.name, s.model, http.StatusOK, "the provider sent a malformed stream event")
			e.Cause = fmt.Errorf("%s upstream %s: decoding a chunk: %w", s.p.name, s.model, err)
			s.fail(e)
			return
		}
		if s.raw && s.dropUsage && c.Usage != nil && len(c.Choices) == 0 {
			s.pending = s.pending[:mark] // the usage chunk the caller did not ask for
		}
		s.queue = s.dec.AppendDecode(s.queue, c)
	}
}

// finish queues the closing events and releases the connection.
func (s *stream) finish() {
	s.queue = append(s.queue, s.dec.End()...)
	if s.raw && len(s.pending) > 0 && s.pending[len(s.pending)-1] != '\n' {
		s.pending = append(s.pending, "\n\n"...) // the last event lacked its blank line
	}
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
	data := s.data[:0]
	defer func() { s.data = data[:0] }()
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
	line := s.line[:0]
	defer func() { s.line = line[:0] }()
	for {
		chunk, err := s.r.ReadSlice('\n')
		if s.raw {
			s.pending = append(s.pending, chunk...)
		}
		if len(line) == 0 && err == nil {
			// The common case, a whole line in the buffer: no copy. It
			// stays valid until the next read, which is after the event
			// has been used.
			return bytes.TrimRight(chunk, "\r\n"), nil
		}
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
