package gateway

import (
	"bytes"
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
	p, err := g.auth.Check(r)
	if err != nil {
		return nil, auth.Identity{}, err
	}
	body, release, err := bodies.ReadBody(w, r, limit)
	release()
	if err != nil {
		return nil, auth.Identity{}, err
	}
	// The handler after the check reads the body again (the query API's
	// POST forms, as Prometheus's client and Grafana send them).
	r.Body = io.NopCloser(bytes.NewReader(body))
	id, err := p.Verify(body)
	if err != nil {
		return nil, auth.Identity{}, err
	}
	if action != "" {
		if err := auth.Authorize(id, action, resource); err != nil {
			return nil, id, err
		}
	}
	return body, id, nil
}
