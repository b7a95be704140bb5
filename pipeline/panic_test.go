package pipeline

import (
	"errors"
	"strings"
	"testing"
)

func TestSafely_TurnsAPanicIntoAnError(t *testing.T) {
	err := Safely(func() error {
		var m map[string]int
		m["x"] = 1 // a nil-map write: a runtime panic
		return nil
	})
	var p *PanicError
	if !errors.As(err, &p) || !strings.Contains(err.Error(), "assignment to entry in nil map") ||
		!strings.Contains(string(p.Stack), "TestSafely_TurnsAPanicIntoAnError") {
		t.Fatalf("Safely = %v; stack:\n%s", err, p.Stack)
	}
	plain := errors.New("plain")
	if err := Safely(func() error { return plain }); err != plain {
		t.Fatalf("Safely = %v, want the function's own error", err)
	}
}
