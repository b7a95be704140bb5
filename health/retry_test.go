package health

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/orderd/orderd/pipeline"
)

// counted records the retries counted, by cause.
type counted map[string]int

func (c counted) Retry(cause string) { c[cause]++ }

func TestRetries_ReportsFailingThenHealedOnce(t *testing.T) {
	reg := New()
	var log bytes.Buffer
	n := counted{}
	r := &Retries{Health: reg.Component("store"), Log: zerolog.New(&log), Metrics: n}
	retry := r.Retry(Work{Cause: RetryConnect, What: "connect", Failing: "unavailable", Healed: "reachable"},
		pipeline.Backoff{Min: time.Millisecond, Max: time.Millisecond}, nil)

	retry.Fail(errors.New("refused"))
	retry.Fail(errors.New("refused again"))
	st := reg.Report().Components[0]
	if st.OK || !strings.HasPrefix(st.Detail, "connect failing since ") || !strings.HasSuffix(st.Detail, ", retrying: refused again") {
		t.Fatalf("while failing: %+v", st)
	}
	retry.Succeeded()
	retry.Succeeded() // no failures before it: nothing healed
	if st := reg.Report().Components[0]; !st.OK {
		t.Fatalf("after success: %+v", st)
	}
	if n[RetryConnect] != 2 {
		t.Fatalf("counted %v, want 2 %s retries", n, RetryConnect)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"message":"unavailable"`) || !strings.Contains(lines[2], `"message":"reachable"`) ||
		!strings.Contains(lines[2], `"attempts":3`) {
		t.Fatalf("log:\n%s\nwant two failures and one healed line after 3 attempts", log.String())
	}
}

func TestRetries_WorkWithoutCauseIsNotCounted(t *testing.T) {
	reg := New()
	n := counted{}
	r := &Retries{Health: reg.Component("store"), Log: zerolog.Nop(), Metrics: n}
	retry := r.Retry(Work{What: "ping"}, pipeline.Backoff{Min: time.Millisecond, Max: time.Millisecond}, nil)
	retry.Fail(errors.New("timeout"))
	if len(n) != 0 {
		t.Fatalf("counted %v for work without a cause", n)
	}
	if st := reg.Report().Components[0]; st.OK {
		t.Fatalf("a failed ping left the component OK: %+v", st)
	}
}
