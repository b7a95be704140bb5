package daemon

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orderd/orderd/internal/testenv"
)

// defaultParallel is -test.parallel when the command line does not set it:
// enough for every parallel test to be waiting in schedule at once, which
// bounds them (PostgreSQL's connections, and the cores under -race) and
// starts the longest first. go test's own default, GOMAXPROCS, suits tests
// that keep a core busy; these mostly wait on timers, brokers and
// PostgreSQL (a fault held for seconds, an outage's length, a session
// timeout), and it would pick which ones start first by chance.
const defaultParallel = 64

// TestMain raises -test.parallel's default (see defaultParallel) and
// removes what the tests shared: the orderd binaries the process tests
// build and the browser the browser tests drive.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		if err := flag.Set("test.parallel", strconv.Itoa(defaultParallel)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	code := m.Run()
	stopBrowser()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ownProcessEnv names the one test a child test process runs, see
// inOwnProcess.
const ownProcessEnv = "ORDERD_TEST_OWN_PROCESS"

// inOwnProcess runs t in a test process of its own, for a test that must
// have the process to itself: one that signals it, checks it for leaked
// goroutines or sets its environment. Called first thing in the test, it
// reports true in that child process, where the test goes on alone; in
// this one it runs the child beside the other parallel tests, as holding n
// orderd instances, fails t if the child fails, and reports false.
func inOwnProcess(t *testing.T, n int64) bool {
	t.Helper()
	if os.Getenv(ownProcessEnv) == t.Name() {
		return true
	}
	testenv.SkipIfShort(t, "PostgreSQL")
	parallel(t, n)
	args := []string{"-test.run=^" + regexp.QuoteMeta(t.Name()) + "$", "-test.count=1", "-test.v"}
	if deadline, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(deadline).String())
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), ownProcessEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || testing.Verbose() {
		// Each line marked, so that the child's own "--- PASS" lines are
		// not read as this test's results (go test -json, test2json).
		marked := "| " + strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "\n| ")
		t.Logf("%s in a process of its own:\n%s", t.Name(), marked)
	}
	if err != nil {
		t.Fatalf("%s in a process of its own: %v", t.Name(), err)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("%s in a process of its own did not run (it printed no PASS)", t.Name())
	}
	return false
}
