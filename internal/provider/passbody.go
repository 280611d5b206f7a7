package provider

import "github.com/tidwall/sjson"

// WithModel returns a JSON request body whose top-level model member is
// model: a copy of body with that one value replaced in place (added when
// absent), every other byte as the caller sent it. body itself is never
// changed: it is the call's recorded input. The pass-through providers use
// it when the upstream names a model otherwise than the caller.
func WithModel(body []byte, model string) ([]byte, error) {
	// sjson may edit the slice it is given: it gets a copy.
	return sjson.SetBytes(append([]byte(nil), body...), "model", model)
}
