package anthropic

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	wire "github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// maxEventBytes bounds one server-sent event. Anthropic's events are small
// deltas; the largest (a server tool result's content_block_start) stay far
// below this.
const maxEventBytes = 16 << 20

// statusBrokenStream is the status reported for a stream the upstream broke
// off or garbled: it sent no status of its own, and like a bad gateway the
// failure is worth a retry.
const statusBrokenStream = http.StatusBadGateway

var (
	errEventTooLarge = fmt.Errorf("server-sent event larger than %d bytes", maxEventBytes)
	errClosed        = errors.New("anthropic: the stream was closed")
)

// stream reads a Messages SSE stream and hands its events, as they
// arrive, to a translate.MessagesStreamDecoder, which turns them into
// Converse events; the stream adds the latency to the metadata event and
// maps errors (broken streams, error events) to Bedrock exceptions.
type stream struct {
	ctx   context.Context
	body  io.ReadCloser
	sse   sseReader
	dec   *translate.MessagesStreamDecoder
	model string
	reqID string
	start time.Time

	queue []converse.StreamEvent
	err   error

	closed    atomic.Bool
	closeOnce sync.Once

	// keepRaw keeps the upstream's bytes for a pass-through stream:
	// pending are those of the events read since the last emitted event,
	// raws the bytes of each queued event, raw those of the event Next
	// returned last.
	keepRaw bool
	pending []byte
	raws    [][]byte
	raw     []byte
}

func newStream(ctx context.Context, resp *http.Response, model string, start time.Time) *stream {
	return &stream{
		ctx:   ctx,
		body:  resp.Body,
		sse:   sseReader{r: bufio.NewReaderSize(resp.Body, streamBufferBytes)},
		dec:   translate.NewMessagesStreamDecoder(),
		model: model,
		reqID: requestID(resp, ""),
		start: start,
	}
}

// prime reads up to the first Converse event (message_start), so failures
// before it are reported by ConverseStream.
func (s *stream) prime() error {
	for len(s.queue) == 0 && s.err == nil && !s.dec.Done() {
		s.step()
	}
	return s.err
}

// Next returns the next Converse event, io.EOF after the metadata event, or
// the error that ended the stream.
func (s *stream) Next() (*converse.StreamEvent, error) {
	for {
		if len(s.queue) == 0 && s.dec.Done() {
			return nil, io.EOF
		}
		if s.err == nil {
			if err := s.ctx.Err(); err != nil {
				s.fail(provider.TransportError(displayName, err))
			}
		}
		if s.err != nil {
			return nil, s.err
		}
		if len(s.queue) > 0 {
			ev := s.queue[0]
			s.queue = s.queue[1:]
			if s.keepRaw {
				s.raw, s.raws = s.raws[0], s.raws[1:]
			}
			return &ev, nil
		}
		s.step()
	}
}

// Close releases the upstream connection. It is safe to call more than
// once and after Next failed.
func (s *stream) Close() error {
	s.closed.Store(true)
	s.closeBody()
	return nil
}

func (s *stream) closeBody() { s.closeOnce.Do(func() { s.body.Close() }) }

// maxDrainBytes bounds what is read after message_stop.
const maxDrainBytes = 4 << 10

// finish releases the body of a complete stream. Anthropic ends the
// response right after message_stop, but closing a body before its end
// tears down an HTTP/1.1 connection instead of reusing it; so the rest (the
// end of the chunked encoding) is read off in the background, where a
// misbehaving upstream cannot hold up the caller. The call's context still
// bounds that read.
func (s *stream) finish() {
	s.closeOnce.Do(func() {
		go func(body io.ReadCloser) {
			_, _ = io.Copy(io.Discard, io.LimitReader(body, maxDrainBytes))
			body.Close()
		}(s.body)
	})
}

func (s *stream) fail(err error) {
	s.err = err
	s.queue, s.raws = nil, nil
	s.closeBody()
}

func (s *stream) emit(ev converse.StreamEvent) {
	s.queue = append(s.queue, ev)
	if s.keepRaw {
		// The bytes read so far go out with the first event they produce.
		s.raws = append(s.raws, s.pending)
		s.pending = nil
	}
}

// step reads one server-sent event and translates it.
func (s *stream) step() {
	ev, err := s.sse.next()
	if err != nil {
		switch {
		case s.ctx.Err() != nil:
			s.fail(provider.TransportError(displayName, s.ctx.Err()))
		case s.closed.Load():
			s.fail(errClosed)
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			s.fail(s.broken("the upstream ended the stream before the message was complete", err))
		case errors.Is(err, errEventTooLarge):
			s.fail(s.broken("the upstream sent an event too large to process", err))
		default:
			s.fail(s.broken("the connection to the upstream was lost", err))
		}
		return
	}
	if s.keepRaw {
		s.pending = appendSSE(s.pending, ev)
	}
	evs, err := s.dec.Decode(ev.name, ev.data)
	var se *translate.MessagesStreamError
	switch {
	case errors.As(err, &se):
		s.fail(s.upstreamError(se))
		return
	case err != nil:
		s.fail(s.broken("the upstream sent a malformed event", fmt.Errorf("event %q: %w", ev.name, err)))
		return
	}
	for _, e := range evs {
		if e.Metadata != nil {
			e.Metadata.Metrics.LatencyMs = time.Since(s.start).Milliseconds()
		}
		s.emit(e)
	}
	if s.dec.Done() {
		s.finish()
	}
}

// broken is the error for a stream the upstream broke off or garbled:
// before the first event, a model error the gateway may retry; after it, a
// ModelStreamErrorException.
func (s *stream) broken(message string, cause error) *apierror.Error {
	var err *apierror.Error
	if s.dec.Started() {
		err = provider.StreamError(displayName, s.model, statusBrokenStream, message)
	} else {
		err = provider.UpstreamError(displayName, s.model, statusBrokenStream, message)
	}
	err.Cause = withRequestID(fmt.Errorf("%w: %w", err.Cause, cause), s.reqID, "")
	return err
}

// upstreamError is the error for an error event: before the first event
// as good as an error status, and as retryable; after it, a
// ModelStreamErrorException. A stream's error has no status of its own:
// it gets the one Anthropic documents for its type (529 for
// overloaded_error, 500 for api_error).
func (s *stream) upstreamError(se *translate.MessagesStreamError) *apierror.Error {
	var err *apierror.Error
	if s.dec.Started() {
		err = provider.StreamError(displayName, s.model, wire.ErrorStatus(se.Type), se.Message)
	} else {
		err = provider.UpstreamError(displayName, s.model, wire.ErrorStatus(se.Type), se.Message)
	}
	err.Cause = withRequestID(err.Cause, s.reqID, se.Type)
	return err
}

// sseReader reads server-sent events (the text/event-stream format of the
// HTML standard) as Anthropic sends them: "event:" and "data:" fields, an
// empty line ending each event.
type sseReader struct {
	r    *bufio.Reader
	line []byte
}

// sseEvent is one dispatched event.
type sseEvent struct {
	name string
	data []byte
}

// next returns the next event with data. At the end of the body it returns
// io.EOF; an event cut off by the end is discarded, as the standard says.
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if hasData {
				return ev, nil
			}
			ev.name = ""
			continue
		}
		if line[0] == ':' {
			continue // a comment
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			ev.name = string(value)
		case "data":
			if hasData {
				ev.data = append(ev.data, '\n')
			}
			ev.data = append(ev.data, value...)
			hasData = true
			if len(ev.data) > maxEventBytes {
				return sseEvent{}, errEventTooLarge
			}
		}
		// id and retry do not matter to a single request's stream.
	}
}

// readLine returns the next line without its line ending. The slice is
// valid until the next call.
func (s *sseReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		frag, err := s.r.ReadSlice('\n')
		s.line = append(s.line, frag...)
		if len(s.line) > maxEventBytes {
			return nil, errEventTooLarge
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(s.line) > 0 {
			break // a last line without an ending; EOF comes next call
		}
		return nil, err
	}
	line := bytes.TrimSuffix(s.line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

// streamBufferBytes is the read buffer of one upstream stream. Events are
// small, and a line longer than the buffer is assembled piecewise, so a
// small buffer costs nothing but keeps thousands of open streams cheap.
const streamBufferBytes = 4 << 10
