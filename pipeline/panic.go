package pipeline

import (
	"fmt"
	"runtime/debug"
)

// PanicError is a panic recovered while processing one message.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the panicking goroutine's stack
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Safely calls f and returns its error, or a *PanicError if f panics. A
// panic that one message triggers would otherwise crash orderd, and the
// same message would crash it again after every restart, on every replica
// that takes its partition: caught here, it is that message's fault alone.
func Safely(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return f()
}
