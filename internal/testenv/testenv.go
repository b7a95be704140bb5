// Package testenv gives tests the real services they run against: a fresh
// PostgreSQL database per test and an in-process Kafka cluster (kfake) that
// clients reach over real TCP.
//
// Outside CI a missing PostgreSQL skips the test with the reason; under
// CI=true it fails it, so CI can never go green by skipping.
package testenv

import (
	"os"
	"testing"
)

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// unavailable fails the test in CI and skips it elsewhere.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+" (skipped outside CI; CI=true makes this a failure)", args...)
}
