package daemon

import (
	"context"
	"fmt"

	"github.com/orderd/orderd/daemon/kafkaclient"
	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
	"github.com/orderd/orderd/health"
)

// kafkaPart connects to Kafka, retrying while it is unreachable; stopping
// leaves the consumer group and closes the clients.
func (d *daemon) kafkaPart() parts.Part {
	bg := parts.NewBackground()
	return parts.Part{
		Name: "kafka clients",
		Start: func() error {
			bg.Go(d.connectKafka)
			return nil
		},
		Stop: func() error {
			bg.Stop()
			if k, err := d.kafka.Get(); err == nil {
				if err := k.Close(); err != nil {
					// Leaving the group fails when the brokers are gone;
					// the group then expires the member by itself, and
					// nothing of orderd's is left unfinished.
					d.log.Warn().Err(err).Msg("closing the kafka clients")
				}
			}
			return nil
		},
	}
}

// connectKafka connects to the brokers, retrying while they are
// unreachable and reporting why on the kafka component, until it succeeds or
// ctx ends.
func (d *daemon) connectKafka(ctx context.Context) {
	log := d.component("kafka")
	retry := d.kafkaHealth.Retry(health.Work{
		Cause:   health.RetryConnect,
		What:    fmt.Sprintf("connect to kafka %v", d.brokers),
		Failing: "kafka unavailable; retrying",
		Healed:  "kafka reachable",
	}, d.backoff(), nil)
	var k *kafkaclient.Clients
	err := retry.Do(ctx, func(context.Context) (err error) {
		k, err = kafkaclient.Open(d.cfg, d.brokers, log)
		return err
	})
	if err != nil {
		return // stopped while connecting
	}
	d.kafka.Set(k)
	reader := browse.NewReader(k.Admin, d.cfg.KafkaDLQTopic)
	d.dead.Set(deadLetters{Reader: reader, Redriver: dlq.NewRedriver(reader, k.AdminProduce, d.cfg.KafkaTopic).WithTracer(d.tracing.Tracer())})
}
