package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

// ErrBodyTooLarge is returned by ReadBody for a body over the limit; front
// doors word it in their API's terms.
var ErrBodyTooLarge = errors.New("request body too large")

// ReadBody reads the whole request body in one pre-sized buffer, refusing
// more than limit bytes without reading them: a declared Content-Length over
// the limit is refused at once, a chunked body as soon as it passes it. The
// connection is then marked for closing, since the rest of the body stays
// unread. A body cut short is a ValidationException.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	tooLarge := func() error {
		w.Header().Set("Connection", "close")
		return ErrBodyTooLarge
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
	}
	size := r.ContentLength
	if size < 0 {
		size = 4096 // chunked: grow as needed
	}
	buf := make([]byte, 0, size+1) // +1 so a complete read needs no regrowth to see EOF
	for {
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, tooLarge()
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, apierror.New(apierror.Validation, "The request body could not be read completely: the connection was closed or timed out before the body ended.")
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// RespondJSON finishes the call with the status, the JSON body and err,
// then writes them: observers have the record before the client has the
// answer. Headers the front door needs (an error type) must be set on w
// first. When the call cannot be recorded (Finish refuses it), refused
// writes that error in the front door's shape instead of the response.
func (c *Call) RespondJSON(ctx context.Context, w http.ResponseWriter, status int, body []byte, err error, refused func(http.ResponseWriter, error)) {
	if ferr := c.Finish(ctx, status, invocation.Body{ContentType: "application/json", Data: body}, err); ferr != nil {
		refused(w, ferr)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
