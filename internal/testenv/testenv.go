// Package testenv gives tests the real services they run against: a fresh
// PostgreSQL database per test and an in-process Kafka cluster (kfake) that
// clients reach over real TCP.
//
// Outside CI a missing PostgreSQL skips the test with the reason; under
// CI=true it fails it, so CI can never go green by skipping.
//
// go test -short is the quick loop of pure logic: every test that needs
// PostgreSQL or a browser skips there, because it asked for that, even
// under CI=true. In-process Kafka (kfake) starts in milliseconds and stays.
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

// SkipIfShort skips the test under -short, naming what it needs: -short
// is the loop of pure logic, and an explicit -short is obeyed in CI too.
func SkipIfShort(t testing.TB, needs string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s: skipped under -short", needs)
	}
}
