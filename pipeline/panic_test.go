package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSafely_TurnsAPanicIntoAnError(t *testing.T) {
	items := []int{1, 2, 3}
	err := Safely(func() error {
		return fmt.Errorf("item %d", items[len(items)]) // out of range: a runtime panic
	})
	var p *PanicError
	if !errors.As(err, &p) || !strings.Contains(err.Error(), "index out of range") ||
		!strings.Contains(string(p.Stack), "TestSafely_TurnsAPanicIntoAnError") {
		t.Fatalf("Safely = %v; stack:\n%s", err, p.Stack)
	}
	plain := errors.New("plain")
	if err := Safely(func() error { return plain }); err != plain {
		t.Fatalf("Safely = %v, want the function's own error", err)
	}
}
