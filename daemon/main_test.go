package daemon

import (
	"os"
	"testing"
)

// TestMain removes what the tests shared: the orderd binaries the process
// tests build and the browser the browser tests drive.
func TestMain(m *testing.M) {
	code := m.Run()
	stopBrowser()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
