package anthropic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/provider"
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

// streamEvent is one event of a Messages stream: the union of the members
// of every event type.
type streamEvent struct {
	Type         string           `json:"type"`
	Message      *messageResponse `json:"message"`
	Index        int              `json:"index"`
	ContentBlock *responseBlock   `json:"content_block"`
	Delta        *streamDelta     `json:"delta"`
	Usage        *usage           `json:"usage"`
	Error        *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// streamDelta is a content_block_delta's delta or a message_delta's delta.
type streamDelta struct {
	Type         string  `json:"type"`
	Text         string  `json:"text"`
	PartialJSON  string  `json:"partial_json"`
	Thinking     string  `json:"thinking"`
	Signature    string  `json:"signature"`
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

// block is a content block in progress.
type block struct {
	index   int    // Converse contentBlockIndex
	kind    string // Anthropic block type
	content bool   // a delta (or tool use start) was emitted
}

// stream translates a Messages SSE stream into Converse events as it
// arrives. Anthropic's order already is Converse's: message_start, content
// blocks (start, deltas, stop), message_delta, message_stop. Blocks are
// renumbered so the Converse indices stay dense when untranslatable
// (server tool) blocks are left out.
type stream struct {
	ctx   context.Context
	body  io.ReadCloser
	sse   sseReader
	model string
	reqID string
	start time.Time

	queue   []converse.StreamEvent
	err     error
	started bool // message_start arrived
	done    bool // message_stop arrived

	blocks     map[int]*block // by Anthropic index
	nextIndex  int
	usage      converse.Usage
	stopReason string
	stopSeq    string

	closed    atomic.Bool
	closeOnce sync.Once
}

func newStream(ctx context.Context, resp *http.Response, model string, start time.Time) *stream {
	return &stream{
		ctx:    ctx,
		body:   resp.Body,
		sse:    sseReader{r: bufio.NewReaderSize(resp.Body, streamBufferBytes)},
		model:  model,
		reqID:  requestID(resp, ""),
		start:  start,
		blocks: map[int]*block{},
	}
}

// prime reads up to the first Converse event (message_start), so failures
// before it are reported by ConverseStream.
func (s *stream) prime() error {
	for len(s.queue) == 0 && s.err == nil && !s.done {
		s.step()
	}
	return s.err
}

// Next returns the next Converse event, io.EOF after the metadata event, or
// the error that ended the stream.
func (s *stream) Next() (*converse.StreamEvent, error) {
	for {
		if len(s.queue) == 0 && s.done {
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
	s.queue = nil
	s.closeBody()
}

func (s *stream) emit(ev converse.StreamEvent) { s.queue = append(s.queue, ev) }

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
	var e streamEvent
	if err := json.Unmarshal(ev.data, &e); err != nil {
		s.fail(s.broken("the upstream sent a malformed event", fmt.Errorf("event %q: %w", ev.name, err)))
		return
	}
	if e.Type == "" {
		e.Type = ev.name
	}
	s.handle(&e)
}

// broken is the error for a stream the upstream broke off or garbled:
// before the first event, a model error the gateway may retry; after it, a
// ModelStreamErrorException.
func (s *stream) broken(message string, cause error) *apierror.Error {
	var err *apierror.Error
	if s.started {
		err = provider.StreamError(displayName, s.model, statusBrokenStream, message)
	} else {
		err = provider.UpstreamError(displayName, s.model, statusBrokenStream, message)
	}
	err.Cause = withRequestID(fmt.Errorf("%w: %w", err.Cause, cause), s.reqID, "")
	return err
}

func (s *stream) handle(e *streamEvent) {
	if s.done {
		return
	}
	switch e.Type {
	case "message_start":
		if s.started {
			return
		}
		s.started = true
		if e.Message != nil {
			e.Message.Usage.apply(&s.usage)
		}
		// The input and cache counts are final at the start; native
		// stream encoders announce them there, as Anthropic does.
		s.emit(converse.StreamEvent{MessageStart: &converse.MessageStartEvent{Role: converse.RoleAssistant, InputTokens: s.usage.InputTokens,
			CacheRead: s.usage.CacheReadInputTokens, CacheWrite: s.usage.CacheWriteInputTokens, CacheDetails: s.usage.CacheDetails}})
	case "content_block_start":
		s.blockStart(e)
	case "content_block_delta":
		b := s.blocks[e.Index]
		if b == nil || e.Delta == nil {
			return
		}
		s.delta(b, e.Delta)
	case "content_block_stop":
		b := s.blocks[e.Index]
		if b == nil {
			return
		}
		delete(s.blocks, e.Index)
		if !b.content {
			// A block that arrived empty still exists in the message, as it
			// does in the non-streamed response.
			empty := ""
			switch b.kind {
			case "text":
				s.emitDelta(b, converse.ContentBlockDelta{Text: &empty})
			case "thinking":
				s.emitDelta(b, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &empty}})
			}
		}
		s.emit(converse.StreamEvent{ContentBlockStop: &converse.ContentBlockStopEvent{ContentBlockIndex: b.index}})
	case "message_delta":
		if d := e.Delta; d != nil {
			if d.StopReason != "" {
				s.stopReason = d.StopReason
			}
			if d.StopSequence != nil {
				s.stopSeq = *d.StopSequence
			}
		}
		// Its usage is cumulative: the final counts.
		e.Usage.apply(&s.usage)
	case "message_stop":
		s.done = true
		s.usage.TotalTokens = total(s.usage)
		s.emit(converse.StreamEvent{MessageStop: &converse.MessageStopEvent{StopReason: stopReason(s.stopReason), StopSequence: s.stopSeq}})
		s.emit(converse.StreamEvent{Metadata: &converse.MetadataEvent{
			Usage:   s.usage,
			Metrics: converse.Metrics{LatencyMs: time.Since(s.start).Milliseconds()},
		}})
		s.finish()
	case "error":
		typ, msg := "", ""
		if e.Error != nil {
			typ, msg = e.Error.Type, e.Error.Message
		}
		var err *apierror.Error
		if s.started {
			err = provider.StreamError(displayName, s.model, errorStatus(typ), msg)
		} else {
			// Nothing was sent yet: as good as an error status, and as
			// retryable.
			err = provider.UpstreamError(displayName, s.model, errorStatus(typ), msg)
		}
		err.Cause = withRequestID(err.Cause, s.reqID, typ)
		s.fail(err)
	}
	// ping, and event types newer than this code, carry nothing to
	// translate (Anthropic's versioning policy asks clients to ignore
	// unknown events).
}

func (s *stream) blockStart(e *streamEvent) {
	cb := e.ContentBlock
	if cb == nil || !translated(cb.Type) {
		return // its deltas and stop find no block and are dropped too
	}
	b := &block{index: s.nextIndex, kind: cb.Type}
	s.nextIndex++
	s.blocks[e.Index] = b
	switch cb.Type {
	case "tool_use":
		b.content = true
		s.emit(converse.StreamEvent{ContentBlockStart: &converse.ContentBlockStartEvent{
			ContentBlockIndex: b.index,
			Start:             converse.ContentBlockStart{ToolUse: &converse.ToolUseBlockStart{ToolUseID: cb.ID, Name: cb.Name}},
		}})
		// The input arrives as input_json_delta pieces; the start carries
		// an empty object, but pass on anything more.
		if in := bytes.TrimSpace(cb.Input); len(in) > 0 && !bytes.Equal(in, []byte("{}")) && !bytes.Equal(in, []byte("null")) {
			s.emitDelta(b, converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: string(in)}})
		}
	case "text":
		if cb.Text != "" {
			s.emitDelta(b, converse.ContentBlockDelta{Text: &cb.Text})
		}
	case "thinking":
		if cb.Thinking != "" {
			s.emitDelta(b, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &cb.Thinking}})
		}
		if cb.Signature != "" {
			s.emitDelta(b, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Signature: &cb.Signature}})
		}
	case "redacted_thinking":
		// Redacted thinking arrives whole in its start event.
		s.emitDelta(b, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{RedactedContent: []byte(cb.Data)}})
	}
}

func (s *stream) delta(b *block, d *streamDelta) {
	switch d.Type {
	case "text_delta":
		s.emitDelta(b, converse.ContentBlockDelta{Text: &d.Text})
	case "input_json_delta":
		// The first piece is often empty; an empty delta says nothing.
		if d.PartialJSON != "" {
			s.emitDelta(b, converse.ContentBlockDelta{ToolUse: &converse.ToolUseBlockDelta{Input: d.PartialJSON}})
		}
	case "thinking_delta":
		s.emitDelta(b, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Text: &d.Thinking}})
	case "signature_delta":
		s.emitDelta(b, converse.ContentBlockDelta{ReasoningContent: &converse.ReasoningContentDelta{Signature: &d.Signature}})
	}
	// citations_delta and newer delta types have no Converse form.
}

func (s *stream) emitDelta(b *block, d converse.ContentBlockDelta) {
	b.content = true
	s.emit(converse.StreamEvent{ContentBlockDelta: &converse.ContentBlockDeltaEvent{ContentBlockIndex: b.index, Delta: d}})
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
