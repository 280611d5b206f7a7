package objectstore

// classified is an error tagged with one of the package's sentinel errors:
// errors.Is(err, kind) holds, errors.As still reaches the underlying error,
// and the message is the underlying error's own.
type classified struct {
	kind error
	err  error
}

func (e *classified) Error() string   { return e.err.Error() }
func (e *classified) Unwrap() []error { return []error{e.kind, e.err} }

// classify tags err with kind; a nil kind returns err unchanged.
func classify(kind, err error) error {
	if kind == nil || err == nil {
		return err
	}
	return &classified{kind: kind, err: err}
}
