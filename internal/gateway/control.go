package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/modelwatch/modelwatch/internal/auth"
)

// Control authenticates and authorizes a request that is not a model call
// (listing models, the logging configuration, the data APIs), which has no
// Invocation: the checks that need no body first, then the body (read
// under bodies, at most limit bytes), the signature over it, and last the
// grant for action on resource ("*" for actions without one; action ""
// authenticates only). It returns the body and the caller.
//
// Errors are *apierror.Error (AccessDeniedException when only the grant
// is missing) or ErrBodyTooLarge, for the front door to word in its API's
// shape. A control body is small and not kept past the check, so its
// budget charge is released before Control returns; r.Body is left
// reading the same bytes, for a handler that parses it (a form).
func (g *Gateway) Control(w http.ResponseWriter, r *http.Request, bodies *BodyBudget, limit int64, action, resource string) ([]byte, auth.Identity, error) {
	body, id, release, err := g.ControlHeld(w, r, bodies, limit, action, resource)
	release()
	return body, id, err
}

// ControlHeld is Control for a handler that keeps working on the body
// after the check (CountTokens decodes and counts up to 25 MB): the body's
// budget charge stands until the handler calls release, which it must do
// whether or not err is nil.
func (g *Gateway) ControlHeld(w http.ResponseWriter, r *http.Request, bodies *BodyBudget, limit int64, action, resource string) (_ []byte, _ auth.Identity, release func(), _ error) {
	p, err := g.Auth().Check(r)
	if err != nil {
		return nil, auth.Identity{}, func() {}, err
	}
	body, release, err := bodies.ReadBody(w, r, limit)
	if err != nil {
		return nil, auth.Identity{}, release, err
	}
	// The handler after the check reads the body again (the query API's
	// POST forms, as Prometheus's client and Grafana send them).
	r.Body = io.NopCloser(bytes.NewReader(body))
	id, err := p.Verify(body)
	if err != nil {
		return nil, auth.Identity{}, release, err
	}
	if rec, ok := r.Context().Value(controlRecordKey{}).(*ControlRecord); ok {
		rec.Identity, rec.Authenticated, rec.Body = id, true, body
	}
	if action != "" {
		if err := g.Authorize(r, id, action, resource); err != nil {
			return nil, id, release, err
		}
	}
	return body, id, release, nil
}

// Authorize authorizes id, the caller of r, for action on resource ("*"
// for actions without one) under the request's condition context; a call
// made with an API key also needs bedrock:CallWithBearerToken, as on
// Bedrock. Errors are AccessDeniedException in AWS's words.
func (g *Gateway) Authorize(r *http.Request, id auth.Identity, action, resource string) error {
	if id.Method == auth.MethodAnonymous {
		return nil
	}
	ctx := g.Auth().RequestContext(r, id, g.now())
	if id.Method == auth.MethodBearer {
		if err := auth.Authorize(id, auth.ActionCallWithBearerToken, "*", ctx); err != nil {
			return err
		}
	}
	return auth.Authorize(id, action, resource, ctx)
}

// ControlRecord is what Control learned of a control-plane request: who
// made it and what it sent. An audit trail wrapped around a front door
// asks for it with WithControlRecord and reads it once the handler has
// answered; the front door is not involved.
type ControlRecord struct {
	// Identity is the caller, when Authenticated.
	Identity      auth.Identity
	Authenticated bool
	// Body is the request body, held only until the record is read.
	Body []byte
}

type controlRecordKey struct{}

// WithControlRecord returns r carrying an empty ControlRecord that
// Control fills in.
func WithControlRecord(r *http.Request) (*http.Request, *ControlRecord) {
	rec := &ControlRecord{}
	return r.WithContext(context.WithValue(r.Context(), controlRecordKey{}, rec)), rec
}
