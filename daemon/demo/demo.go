// Package demo is what orderd -demo adds: an in-process Kafka cluster that
// sarama reaches over real TCP, and a trickle of generated orders into it.
// It never imports the daemon or the server.
package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/orderd/orderd/daemon/config"
	"github.com/orderd/orderd/feed"
	"github.com/orderd/orderd/kafkaauth"
	"github.com/orderd/orderd/order/orderfake"
)

// Mode is what -demo adds: an in-process Kafka cluster that sarama
// reaches over real TCP, and a trickle of generated orders into it.
type Mode struct {
	cfg     config.Config
	log     zerolog.Logger
	cluster *kfake.Cluster
	Brokers []string
	// BaseURL is where orderd serves HTTP, for the hint in the log.
	BaseURL string
}

// Start starts the in-process Kafka cluster.
func Start(cfg config.Config, log zerolog.Logger) (*Mode, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if cfg.DemoKafkaPort != 0 {
		opts = append(opts, kfake.Ports(cfg.DemoKafkaPort))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("demo: start in-process kafka (DEMO_KAFKA_PORT=%d): %w", cfg.DemoKafkaPort, err)
	}
	m := &Mode{cfg: cfg, log: log, cluster: cluster, Brokers: cluster.ListenAddrs()}
	log.Info().Strs("brokers", m.Brokers).
		Msg("demo: in-process Kafka started; it keeps nothing across restarts (inspect it with e.g. kcat -b " + m.Brokers[0] + " -L)")
	return m, nil
}

// Feed publishes the canonical order, then generated orders at DEMO_RATE
// with DEMO_BROKEN of them broken, until ctx ends.
func (m *Mode) Feed(ctx context.Context) {
	pub, err := feed.NewPublisher(m.Brokers, m.cfg.KafkaTopic, kafkaauth.Config{}) // the demo's broker is plain
	if err != nil {
		m.log.Error().Err(err).Msg("demo: cannot publish orders")
		return
	}
	defer func() {
		if err := pub.Close(); err != nil {
			m.log.Warn().Err(err).Msg("demo: publisher")
		}
	}()
	model := orderfake.Model()
	if err := pub.Send(ctx, []byte(model.OrderUID), orderfake.ModelJSON); err != nil {
		return
	}
	m.log.Info().Str("order_uid", model.OrderUID).
		Msgf("demo: canonical order published; try %s/order/%s", m.BaseURL, model.OrderUID)

	stats, err := feed.Generate(ctx, pub, feed.Options{
		Rate:       m.cfg.DemoRate,
		Broken:     m.cfg.DemoBroken,
		Duplicates: 0.05,
		Seed:       uint64(time.Now().UnixNano()),
	})
	if err != nil {
		m.log.Warn().Err(err).Msg("demo: generating orders")
	}
	m.log.Info().Int("valid", stats.Valid).Int("broken", stats.Broken).Int("duplicates", stats.Duplicates).
		Msg("demo: stopped publishing")
}

// Close stops the cluster.
func (m *Mode) Close() { m.cluster.Close() }
