package testenv

import (
	"testing"
	"time"
)

// Eventually polls cond every 20ms until it holds, and fails the test if it
// does not within timeout. Tests wait on outcomes this way, never on fixed
// sleeps.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
