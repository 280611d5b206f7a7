package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

// ErrBodyTooLarge is returned by (*BodyBudget).ReadBody for a body over the limit; front
// doors word it in their API's terms.
var ErrBodyTooLarge = errors.New("request body too large")

// firstBodyBuffer is the capacity a body read starts with. Most bodies
// fit (a chat request is typically 1–4 KB), and it is all that a client
// claiming a large body and then stalling makes the server hold.
const firstBodyBuffer = 4 << 10

// readBody reads the whole request body, refusing more than limit bytes: a
// declared Content-Length over the limit is refused at once, without
// reading, and any body as soon as it passes the limit. The connection is
// then marked for closing, since the rest of the body stays unread. A body
// cut short is a ValidationException.
//
// Memory follows the bytes that arrive, never the length the client
// claims: the buffer starts at 4 KB (less for a smaller declared body) and
// doubles each time it fills, never past the declared length or the limit,
// so a client that claims 24 MB and sends 250 bytes costs 4 KB. Each
// buffer allocated is charged to b (nil charges nothing). It returns the bytes charged, which the caller owns on success
// and which are already returned on failure.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, b *BodyBudget) (body []byte, charged int64, err error) {
	closing := func(err error) error {
		w.Header().Set("Connection", "close")
		return err
	}
	declared := r.ContentLength
	if declared > limit {
		return nil, 0, closing(ErrBodyTooLarge)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return []byte{}, 0, nil
	}
	defer func() {
		if err != nil {
			b.release(charged)
			body, charged = nil, 0
		}
	}()
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			// Full: the buffer doubles, so it is never more than twice
			// the bytes that have arrived (or 4 KB).
			next := nextBodyBuffer(int64(cap(buf)), int64(len(buf)), declared, limit)
			if !b.reserve(next - charged) {
				return nil, charged, closing(b.exceeded())
			}
			charged = next
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		n, rerr := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, charged, closing(ErrBodyTooLarge)
		}
		if errors.Is(rerr, io.EOF) {
			return buf, charged, nil
		}
		if rerr != nil {
			return nil, charged, apierror.New(apierror.Validation, "The request body could not be read completely: the connection was closed or timed out before the body ended.")
		}
	}
}

// nextBodyBuffer is the capacity a full buffer grows to: double, starting
// at firstBodyBuffer, but no more than the declared length plus one spare
// byte (so that a complete read sees EOF without growing again) while the
// body has not passed it, and no more than limit+1, enough to see that a
// body is over the limit.
func nextBodyBuffer(capacity, length, declared, limit int64) int64 {
	next := max(2*capacity, firstBodyBuffer)
	if declared >= length && next >= declared {
		next = declared + 1
	}
	return min(next, limit+1)
}

// respondJSON finishes the call with the status, the JSON body and err,
// then writes them: observers have the record before the client has the
// answer. Headers the front door needs (an error type) must be set on w
// first; answered holds the headers that go only with the answer (nil for
// none). When the call cannot be recorded (finish refuses it), refused
// writes that error in the front door's shape instead of the response.
func (c *Call) respondJSON(ctx context.Context, w http.ResponseWriter, status int, body []byte, err error, refused func(http.ResponseWriter, error), answered http.Header) {
	if ferr := c.finish(ctx, status, invocation.Body{ContentType: "application/json", Data: body}, err); ferr != nil {
		refused(w, ferr)
		return
	}
	hdr := w.Header()
	for k, v := range answered {
		hdr[k] = v
	}
	WriteJSON(w, status, body)
}
