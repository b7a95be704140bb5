package testenv

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is an in-process Kafka cluster that keeps its log in a directory
// of the test's (kfake.DataDir), so it can be stopped and started again on
// the same port with its topics, records and committed offsets: a broker
// restart, as clients see one.
type Broker struct {
	t    testing.TB
	opts []kfake.Opt
	addr string

	mu sync.Mutex
	c  *kfake.Cluster
}

// RestartableKafka starts a Broker with opts (and the options Kafka uses).
// It stops when the test ends.
func RestartableKafka(t testing.TB, opts ...kfake.Opt) *Broker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: pick a broker port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	b := &Broker{t: t, addr: ln.Addr().String()}
	b.opts = append([]kfake.Opt{
		kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(t.TempDir()),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond),
	}, opts...)
	b.Start()
	t.Cleanup(b.Stop)
	return b
}

// Addrs are the broker's addresses; they stay the same across restarts.
func (b *Broker) Addrs() []string { return []string{b.addr} }

// Stop closes the broker, writing its state to its directory; clients see
// their connections refused until Start.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c != nil {
		b.c.Close()
		b.c = nil
	}
}

// Start starts the broker again on the same port, from its directory. The
// port may take a moment to be free again after Stop.
func (b *Broker) Start() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.c != nil {
		return
	}
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		if b.c, err = kfake.NewCluster(b.opts...); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		b.t.Fatalf("testenv: start the broker on %s: %v", b.addr, err)
	}
}
