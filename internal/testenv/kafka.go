package testenv

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Kafka starts an in-process Kafka cluster with the given topics (three
// partitions each) and returns its broker addresses. Clients reach it over
// real TCP on 127.0.0.1. The cluster stops when the test ends.
//
// Group session timeouts down to 100ms are allowed so tests can rebalance
// quickly.
func Kafka(t testing.TB, topics ...string) (brokers []string, cluster *kfake.Cluster) {
	t.Helper()
	return KafkaWith(t, kfake.SeedTopics(3, topics...))
}

// KafkaWith is Kafka with kfake options of the test's own: broker configs,
// faults, TLS and the like.
func KafkaWith(t testing.TB, opts ...kfake.Opt) (brokers []string, cluster *kfake.Cluster) {
	t.Helper()
	base := []kfake.Opt{kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100 * time.Millisecond)}
	c, err := kfake.NewCluster(append(base, opts...)...)
	if err != nil {
		t.Fatalf("testenv: start kfake cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs(), c
}
