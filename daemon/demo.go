package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/orderd/orderd/daemon/config"
	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/feed"
	"github.com/orderd/orderd/kafkaauth"
	"github.com/orderd/orderd/order/orderfake"
)

// demoMode is what -demo adds: an in-process Kafka cluster that sarama
// reaches over real TCP, and a trickle of generated orders into it.
type demoMode struct {
	cfg     config.Config
	log     zerolog.Logger
	cluster *kfake.Cluster
	brokers []string
	// baseURL is where orderd serves HTTP, for the hint in the log.
	baseURL string
}

// demoKafkaPart runs the demo's in-process Kafka cluster, which every other
// part uses as its broker; it stops last.
func (d *daemon) demoKafkaPart() parts.Part {
	if !d.cfg.Demo {
		return parts.Part{}
	}
	return parts.Part{
		Name: "demo kafka",
		Start: func() (err error) {
			if d.demo, err = startDemo(d.cfg, d.component("demo")); err != nil {
				return err
			}
			d.brokers = d.demo.brokers
			return nil
		},
		Stop: func() error { d.demo.close(); return nil },
	}
}

// demoFeedPart publishes the demo's orders until stopped, which it is
// before the pipeline stops consuming.
func (d *daemon) demoFeedPart() parts.Part {
	if !d.cfg.Demo {
		return parts.Part{}
	}
	bg := parts.NewBackground()
	return parts.Part{
		Name: "demo feed",
		Start: func() error {
			d.demo.baseURL = browseURL(d.httpAddr)
			bg.Go(d.demo.feed)
			return nil
		},
		Stop: func() error { bg.Stop(); return nil },
	}
}

func startDemo(cfg config.Config, log zerolog.Logger) (*demoMode, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if cfg.DemoKafkaPort != 0 {
		opts = append(opts, kfake.Ports(cfg.DemoKafkaPort))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("demo: start in-process kafka (DEMO_KAFKA_PORT=%d): %w", cfg.DemoKafkaPort, err)
	}
	m := &demoMode{cfg: cfg, log: log, cluster: cluster, brokers: cluster.ListenAddrs()}
	log.Info().Strs("brokers", m.brokers).
		Msg("demo: in-process Kafka started; it keeps nothing across restarts (inspect it with e.g. kcat -b " + m.brokers[0] + " -L)")
	return m, nil
}

// feed publishes the canonical order, then generated orders at DEMO_RATE
// with DEMO_BROKEN of them broken, until ctx ends.
func (m *demoMode) feed(ctx context.Context) {
	pub, err := feed.NewPublisher(m.brokers, m.cfg.KafkaTopic, kafkaauth.Config{}) // the demo's broker is plain
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
		Msgf("demo: canonical order published; try %s/order/%s", m.baseURL, model.OrderUID)

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

func (m *demoMode) close() { m.cluster.Close() }
