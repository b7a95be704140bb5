package dlqcmd

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
	"github.com/orderd/orderd/kafkaauth"
)

// kafkaConfig is dlq.ClientConfig tuned for a person waiting at a prompt.
func kafkaConfig(timeout time.Duration) *sarama.Config {
	c := dlq.ClientConfig("orderctl")
	// sarama retries a failed metadata request 3 times, 250ms apart, so a
	// refused connection took most of a second to report; one retry is
	// plenty for a command the operator can run again.
	c.Metadata.Retry.Max = 1
	// Metadata.Timeout stops sarama starting another broker or retry past
	// -timeout; the Net timeouts bound each request, which no context can.
	// Connecting to a broker takes up to three round trips (ApiVersions,
	// ApiVersions v0 after a failure, then the request itself), so each
	// gets a third: a broker that accepts connections and never answers
	// is reported within -timeout.
	c.Metadata.Timeout = timeout
	perRoundTrip := timeout / 3
	c.Net.DialTimeout = min(c.Net.DialTimeout, perRoundTrip)
	c.Net.ReadTimeout = min(c.Net.ReadTimeout, perRoundTrip)
	c.Net.WriteTimeout = min(c.Net.WriteTimeout, perRoundTrip)
	return c
}

// connectKafka returns a client of the cluster, the caller's to close.
func (c *cli) connectKafka() (sarama.Client, error) {
	secure, err := c.Auth.Configure()
	if err != nil {
		return nil, err
	}
	cfg := kafkaConfig(c.Timeout)
	secure(cfg)
	client, err := sarama.NewClient(c.Brokers, cfg)
	if err != nil {
		return nil, c.kafkaError(err)
	}
	return client, nil
}

// kafkaError says what to check for the Kafka failures a setting of
// orderctl's causes; other errors pass unchanged.
func (c *cli) kafkaError(err error) error {
	var explained *kafkaauth.Explained
	if errors.As(c.Auth.Explain(err), &explained) {
		return fmt.Errorf("cannot use Kafka at %s: %w", strings.Join(c.Brokers, ","), explained)
	}
	switch {
	case errors.Is(err, sarama.ErrOutOfBrokers):
		return fmt.Errorf("cannot reach Kafka at %s: %w; check -brokers / KAFKA_BROKERS", strings.Join(c.Brokers, ","), err)
	case errors.Is(err, browse.ErrUnknownTopic):
		return fmt.Errorf("topic %s does not exist; check -dlq-topic / KAFKA_DLQ_TOPIC", c.DLQTopic)
	}
	return err
}

// checkOrdersTopic fails unless the orders topic exists: redriving to a
// mistyped -topic would otherwise fail only at the first send, after
// sarama's retries.
func (c *cli) checkOrdersTopic(client sarama.Client) error {
	_, err := client.Partitions(c.Topic)
	if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return fmt.Errorf("topic %s does not exist; check -topic / KAFKA_TOPIC", c.Topic)
	}
	if err != nil {
		return c.kafkaError(fmt.Errorf("partitions of %s: %w", c.Topic, err))
	}
	return nil
}
