//go:build !race

package daemon

// raceEnabled: the race detector is on (see race_test.go).
const raceEnabled = false
