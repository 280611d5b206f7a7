package bedrock

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream/eventstreamapi"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// Frame limits. The SDK decoder trusts the prelude's lengths; checking
// them first keeps a corrupt or hostile prelude from making it buffer
// gigabytes or slice out of range. Real frames are a few kilobytes.
const (
	preludeLen = 12 // total length, headers length, prelude CRC
	minFrame   = preludeLen + 4
	maxFrame   = 24 << 20
)

// errMalformed marks a frame that is not valid event stream encoding.
var errMalformed = errors.New("malformed event stream frame")

// frameReader reads event stream messages one at a time, as they arrive.
type frameReader struct {
	src *errReader
	r   *bufio.Reader
	dec *eventstream.Decoder
	buf []byte // payload buffer, reused: each payload is consumed before the next read
}

func newFrameReader(r io.Reader) *frameReader {
	src := &errReader{r: r}
	return &frameReader{src: src, r: bufio.NewReaderSize(src, 32<<10), dec: eventstream.NewDecoder()}
}

// errReader remembers the connection's read error, so that a failed
// decode can tell a broken connection from broken bytes.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// next returns the next message: io.EOF at a clean end between frames,
// io.ErrUnexpectedEOF inside one, an error wrapping errMalformed for bad
// encoding, or the connection's own error.
func (f *frameReader) next() (eventstream.Message, error) {
	prelude, err := f.r.Peek(8)
	switch {
	case err == io.EOF && len(prelude) == 0:
		return eventstream.Message{}, io.EOF
	case err == io.EOF:
		return eventstream.Message{}, io.ErrUnexpectedEOF
	case err != nil:
		return eventstream.Message{}, err
	}
	total, headers := binary.BigEndian.Uint32(prelude), binary.BigEndian.Uint32(prelude[4:])
	if total < minFrame || total > maxFrame || headers > total-minFrame {
		return eventstream.Message{}, fmt.Errorf("%w: length %d, headers length %d", errMalformed, total, headers)
	}
	m, err := f.dec.Decode(f.r, f.buf)
	if err != nil {
		switch {
		case f.src.err != nil:
			return eventstream.Message{}, f.src.err
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return eventstream.Message{}, io.ErrUnexpectedEOF
		}
		// Checksum, length and header encoding errors.
		return eventstream.Message{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	f.buf = m.Payload
	return m, nil
}

// header returns a string header's value, "" when absent or not a string.
func header(m eventstream.Message, name string) string {
	if v, ok := m.Headers.Get(name).(eventstream.StringValue); ok {
		return string(v)
	}
	return ""
}

// streamBase is what the Converse and native streams share: the open
// response, the frame reader, and the sticky end state.
type streamBase struct {
	p      *Provider
	ctx    context.Context
	model  string
	body   io.ReadCloser
	frames *frameReader
	err    error // once set, every Next returns it
	closed bool
}

func newStreamBase(ctx context.Context, p *Provider, model string, resp *http.Response) streamBase {
	return streamBase{p: p, ctx: ctx, model: model, body: resp.Body, frames: newFrameReader(resp.Body)}
}

// event returns the next event message's type and payload. Exception and
// error messages become the caller's exceptions, io.EOF is a clean end,
// and the payload is valid until the next call.
func (s *streamBase) event() (string, []byte, error) {
	if s.closed {
		return "", nil, errStreamClosed
	}
	m, err := s.frames.next()
	if err != nil {
		if err == io.EOF {
			return "", nil, io.EOF
		}
		return "", nil, s.readError(err)
	}
	switch mt := header(m, eventstreamapi.MessageTypeHeader); mt {
	case eventstreamapi.EventMessageType:
		name := header(m, eventstreamapi.EventTypeHeader)
		// Some proxies encode the union's exception members as events.
		if strings.HasSuffix(name, "Exception") {
			return "", nil, s.p.exceptionError(s.model, name, m.Payload)
		}
		return name, m.Payload, nil
	case eventstreamapi.ExceptionMessageType:
		return "", nil, s.p.exceptionError(s.model, header(m, eventstreamapi.ExceptionTypeHeader), m.Payload)
	case eventstreamapi.ErrorMessageType:
		return "", nil, s.p.errorFrameError(s.model, header(m, eventstreamapi.ErrorCodeHeader), header(m, eventstreamapi.ErrorMessageHeader))
	}
	return "", nil, s.malformed(fmt.Errorf("%w: unknown :message-type %q", errMalformed, header(m, eventstreamapi.MessageTypeHeader)))
}

// readError maps a failure to read the next frame.
func (s *streamBase) readError(err error) error {
	if ctxErr := s.ctx.Err(); ctxErr != nil {
		return provider.TransportError(s.p.name, ctxErr)
	}
	if errors.Is(err, errMalformed) {
		return s.malformed(err)
	}
	// The connection broke mid-stream. 502 marks it as a transient
	// upstream failure (retryable), not a status Bedrock sent.
	e := provider.StreamError(s.p.name, s.model, http.StatusBadGateway, "the connection to the model's provider was interrupted")
	e.Cause = fmt.Errorf("%s upstream %s: reading the event stream: %w", s.p.name, s.model, err)
	return e
}

// malformed reports a stream modelwatch cannot decode.
func (s *streamBase) malformed(err error) *apierror.Error {
	e := provider.StreamError(s.p.name, s.model, http.StatusBadGateway, "the model's provider sent a malformed event stream")
	e.Cause = fmt.Errorf("%s upstream %s: %w", s.p.name, s.model, err)
	return e
}

// fail records the error that ends the stream and releases the
// connection.
func (s *streamBase) fail(err error) error {
	if s.err == nil {
		s.err = err
		_ = s.body.Close()
	}
	return s.err
}

// Close releases the upstream connection; it is idempotent.
func (s *streamBase) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.body.Close()
}
