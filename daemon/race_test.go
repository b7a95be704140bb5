//go:build race

package daemon

// raceEnabled: the race detector is on, and every orderd instance costs
// several times the CPU it costs without.
const raceEnabled = true
