package daemon

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orderd/orderd/internal/testenv"
)

// SIGTERM while the broker takes every dead letter's request and never
// answers: a send sarama cannot cancel. orderd stops waiting for it at
// SHUTDOWN_TIMEOUT (8 s here), says what it abandoned, and exits within
// 12 s of the signal, before a kubelet would kill it. Nothing is lost: the
// dead letters never acknowledged stay uncommitted, and after a restart
// every valid order is stored once and every broken message is on the
// dead-letter topic.
func TestShutdown_BoundedWhileTheDeadLetterBrokerHangs(t *testing.T) {
	parallel(t, 1)
	brokers, cluster := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	env := map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dbURL, "SHUTDOWN_TIMEOUT": "8s",
	}
	release := make(chan struct{})
	var released atomic.Bool
	defer func() {
		if !released.Load() {
			close(release)
		}
	}()
	var hung atomic.Int32
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if released.Load() {
			return nil, nil, false
		}
		cluster.KeepControl()
		for _, topic := range req.(*kmsg.ProduceRequest).Topics {
			if topic.Topic == "orders.dlq" {
				hung.Add(1)
				cluster.SleepControl(func() { <-release })
				break
			}
		}
		return nil, nil, false
	})

	first := startProcess(t, env)
	first.waitHealthy(t)
	w := newWorkload(seedFor(t), 3_000, 0.03, 0.01, 0.005)
	produced := w.produceAll(t, brokers, 0)
	eventually(t, "a dead letter's request hanging, and orders stored", func() bool {
		return hung.Load() > 0 && queryInt(t, dbURL, "SELECT count(*) FROM orders") > 0
	})

	signalled := time.Now()
	err := first.stop(t)
	took := time.Since(signalled)
	first.exitChecked = true
	t.Logf("exited %s after SIGTERM with the dead-letter broker hanging (SHUTDOWN_TIMEOUT 8s): %v", took.Round(10*time.Millisecond), err)
	if took > 12*time.Second {
		t.Errorf("orderd took %s to exit after SIGTERM; SHUTDOWN_TIMEOUT is 8s: want at most 12s", took.Round(10*time.Millisecond))
	}
	if err == nil {
		t.Errorf("orderd exited cleanly although it abandoned a dead-letter send")
	}
	if logs := first.logs.String(); !strings.Contains(logs, "abandoning unfinished work") || !strings.Contains(logs, "abandoned") {
		t.Errorf("the log does not say what was abandoned")
	}

	released.Store(true)
	close(release)
	second := startProcess(t, env)
	<-produced
	w.verify(t, dbURL, brokers, second.daemonRun)
}
