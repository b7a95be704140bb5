package daemon

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/orderd/orderd/internal/testenv"
)

// defaultParallel is -test.parallel when the command line does not set it.
// go test's own default is GOMAXPROCS, which suits tests that keep a core
// busy; these mostly wait on timers, brokers and PostgreSQL (a fault held
// for seconds, an outage's length, a session timeout), so two at a time on
// a 2-core machine would leave the machine idle through most of the run.
// What bounds them instead is PostgreSQL's connections: see instances.
const defaultParallel = 8

// maxInstances is how many orderd instances the parallel tests run at
// once, in-process or as child processes. With the tests' pools (see
// testSettings: READ_CONCURRENCY 4) one instance holds at most 2×WRITERS +
// READ_CONCURRENCY + LIST_CONCURRENCY + 3 (bulk) = 13 connections, plus its
// commit listener and, while it starts, its migrations' connection: 15; a
// test adds at most 2 of its own (a query, a database created or dropped).
// Five instances are then at most 5 × 17 = 85 of PostgreSQL's 100
// (max_connections, 3 of them kept for superusers), which leaves room for
// the package go test runs beside this one, whose tests open one pool at a
// time. A test that sets a larger pool of its own takes more than one unit.
//
// Under -race the cores bound them first: each instance costs several
// times the CPU, so the tests wait on the cores, not on timers. With four
// at once the tests' one-minute waits were missed; with two the package
// took 698 s here against about 620 s one at a time, and loaded the
// machine for the packages go test runs beside it. So one.
var maxInstances = func() int64 {
	if raceEnabled {
		return 1
	}
	return 5
}()

// instances holds one unit per orderd instance a parallel test runs.
var instances = semaphore.NewWeighted(maxInstances)

// parallel runs t beside the other parallel tests once n of the
// maxInstances are free, for a test that runs at most n orderd instances
// at once. Every such instance needs PostgreSQL, so under -short, with n
// above 0, t skips before its setup (a workload, certificates) costs
// anything. Tests that touch what the whole process shares stay serial, and
// go test runs them all before any parallel one starts: a SIGTERM to the
// test process (which every in-process Run would take as its own), a
// goroutine-leak check, or t.Setenv for the OpenTelemetry SDK, which reads
// the process environment.
func parallel(t *testing.T, n int64) {
	t.Helper()
	if n > 0 {
		testenv.SkipIfShort(t, "PostgreSQL")
	}
	t.Parallel()
	// A test of more instances than that (three replicas, under -race)
	// waits for all of them.
	n = min(n, maxInstances)
	if err := instances.Acquire(context.Background(), n); err != nil {
		t.Fatalf("wait for %d of %d orderd instances: %v", n, maxInstances, err)
	}
	// Registered first, so it runs last: after the test's daemons have
	// stopped and its database is dropped.
	t.Cleanup(func() { instances.Release(n) })
}

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
