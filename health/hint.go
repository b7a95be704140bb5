package health

// Hinted returns err with what the operator should check or change, as a
// component's detail shows it: "<err> (<hint>)". errors.Is and errors.As
// still see err.
func Hinted(err error, hint string) error { return &hintedError{err: err, hint: hint} }

type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() + " (" + e.hint + ")" }
func (e *hintedError) Unwrap() error { return e.err }
