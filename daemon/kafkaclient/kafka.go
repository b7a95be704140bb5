// Package kafkaclient opens orderd's connections to Kafka: the consumer
// group, the dead-letter producer and the admin client, each configured for
// what orderd promises (only marked offsets are committed, a dead letter is
// never written twice, a rebalance outlasts a partition's drain), and makes
// sure the topics exist with limits that fit. It never imports the daemon
// or the server.
package kafkaclient

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/orderd/orderd/daemon/config"
	"github.com/orderd/orderd/dlq"
)

// defaultMaxMessageBytes is Kafka's default max.message.bytes, assumed when
// the broker reports none for the topic.
const defaultMaxMessageBytes = 1048588

// Clients are orderd's connections to Kafka.
type Clients struct {
	Group sarama.ConsumerGroup
	DLQ   sarama.SyncProducer
	// DLQMaxRecord is the largest dead-letter record the producer sends
	// (deadletter.DeadLetters.MaxRecordBytes), from the dead-letter topic's
	// effective max.message.bytes.
	DLQMaxRecord int
	// Admin reads the dead-letter topic and redrives from it, for the
	// admin API; a client of its own, so inspection never slows ingest.
	Admin        sarama.Client
	AdminProduce sarama.SyncProducer
}

// Close leaves the consumer group, then closes the producers and the admin
// client: whichever of them were opened.
func (k *Clients) Close() error {
	var errs []error
	if k.Group != nil {
		errs = append(errs, k.Group.Close())
	}
	if k.DLQ != nil {
		errs = append(errs, k.DLQ.Close())
	}
	if k.AdminProduce != nil {
		errs = append(errs, k.AdminProduce.Close())
	}
	if k.Admin != nil {
		errs = append(errs, k.Admin.Close())
	}
	return errors.Join(errs...)
}

// Open connects to brokers: it makes sure the topics exist, then opens
// the clients. A refused connection is explained with the setting to check.
func Open(cfg config.Config, brokers []string, log zerolog.Logger) (_ *Clients, err error) {
	// A refused connection (a password, a certificate) is said in words,
	// with the setting to check, on /health and in the log.
	defer func() { err = cfg.Kafka.Explain(err) }()
	secure, err := cfg.Kafka.Configure()
	if err != nil {
		return nil, err
	}
	secured := func(c *sarama.Config) *sarama.Config {
		secure(c)
		return c
	}
	admin, err := sarama.NewClusterAdmin(brokers, secured(clientConfig("orderd-admin")))
	if err != nil {
		return nil, fmt.Errorf("admin client: %w", err)
	}
	defer admin.Close()
	dlqLimit, err := ensureTopics(admin, cfg, log)
	if err != nil {
		return nil, err
	}

	// The broker compares max.message.bytes with a whole record batch;
	// sarama's MaxMessageBytes counts records (and also caps its batches),
	// and must stay below its MaxRequestSize.
	k := &Clients{DLQMaxRecord: min(dlqLimit-dlq.BatchOverhead, int(sarama.MaxRequestSize)-dlq.HeaderRoom)}
	defer func() {
		if err != nil {
			k.Close() // what was opened before the failure; err says why
		}
	}()
	if k.DLQ, err = sarama.NewSyncProducer(brokers, secured(dlqProducerConfig(k.DLQMaxRecord))); err != nil {
		return nil, fmt.Errorf("dead-letter producer: %w", err)
	}
	adminCfg := secured(dlq.ClientConfig("orderd-admin"))
	// A redriven record is as large as the dead letter it came from.
	adminCfg.Producer.MaxMessageBytes = k.DLQMaxRecord
	if k.Admin, err = sarama.NewClient(brokers, adminCfg); err != nil {
		return nil, fmt.Errorf("admin client: %w", err)
	}
	if k.AdminProduce, err = sarama.NewSyncProducerFromClient(k.Admin); err != nil {
		return nil, fmt.Errorf("redrive producer: %w", err)
	}
	if k.Group, err = sarama.NewConsumerGroup(brokers, cfg.KafkaGroup, secured(ConsumerConfig(cfg))); err != nil {
		return nil, fmt.Errorf("consumer group %s: %w", cfg.KafkaGroup, err)
	}
	return k, nil
}

// Committed reads the group's committed offsets of topic's partitions, for
// the CommitWatch. It uses the admin client, so that a check never waits
// behind the consumer's own requests.
func (k *Clients) Committed(group, topic string) func(partitions []int32) (map[int32]int64, error) {
	return func(partitions []int32) (map[int32]int64, error) {
		admin, err := sarama.NewClusterAdminFromClient(k.Admin)
		if err != nil {
			return nil, err
		}
		// Not closed: closing it would close the shared client.
		resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: partitions})
		if err != nil {
			return nil, fmt.Errorf("fetch the committed offsets of group %s: %w", group, err)
		}
		out := make(map[int32]int64, len(partitions))
		for _, p := range partitions {
			block := resp.GetBlock(topic, p)
			if block == nil {
				return nil, fmt.Errorf("fetch the committed offsets of group %s: no answer for %s[%d]", group, topic, p)
			}
			if block.Err != sarama.ErrNoError {
				return nil, fmt.Errorf("fetch the committed offset of group %s on %s[%d]: %w", group, topic, p, block.Err)
			}
			out[p] = block.Offset
		}
		return out, nil
	}
}

func clientConfig(clientID string) *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = clientID
	// orderd creates its topics itself (KAFKA_CREATE_TOPICS) with the
	// settings they need; a topic auto-created by a metadata request would
	// get the broker's defaults.
	c.Metadata.AllowAutoTopicCreation = false
	// Fail fast on an unreachable broker: the daemon retries Open with backoff
	// and reports the outage on /health meanwhile.
	c.Net.DialTimeout = 5 * time.Second
	return c
}

// consumerBuffer is how many consumed messages sarama holds per partition.
const consumerBuffer = 16

// ConsumerConfig is the consumer group's configuration.
func ConsumerConfig(cfg config.Config) *sarama.Config {
	c := clientConfig("orderd")
	// A new group starts at the oldest offset so that no order published
	// before orderd first ran is skipped.
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	// Auto-commit commits only offsets that were MARKED, and orderd marks
	// an offset only once its message and every earlier one of the
	// partition are stored or dead-lettered (pipeline.PartitionTracker).
	// So auto-commit never commits unfinished work.
	c.Consumer.Offsets.AutoCommit.Enable = true
	c.Consumer.Offsets.AutoCommit.Interval = time.Second
	c.Consumer.Return.Errors = true
	// Messages wait here per partition before the in-flight bounds see
	// them, so this buffer is outside MAX_IN_FLIGHT_MB: sarama's 256 would
	// let three partitions of 500 KB messages hold 384 MB. A fetch
	// response (Consumer.Fetch.Default, 1 MiB, per partition) already
	// batches the reads; a short buffer only smooths the hand-off.
	c.ChannelBufferSize = consumerBuffer
	c.Consumer.Group.Heartbeat.Interval = cfg.KafkaHeartbeat
	c.Consumer.Group.Session.Timeout = cfg.KafkaSession
	rebalanceTimeouts(c, cfg.DrainTimeout)
	return c
}

// rebalanceTimeouts sets how long the broker waits for members to rejoin a
// rebalance, and how long a request may wait for its answer, which must be
// longer. A JoinGroup is answered only once the rebalance completes, and
// sarama reads the answer under Net.ReadTimeout like any other: with its
// defaults (a 60 s rebalance, a 30 s read), one member slow to rejoin (a
// SIGKILLed replica the broker still counts) times every other member's
// JoinGroup out, each retry joins anew, and the group can rebalance for
// ever. A member needs DRAIN_TIMEOUT to let go of its partitions, and the
// commit after it.
func rebalanceTimeouts(c *sarama.Config, drain time.Duration) {
	c.Consumer.Group.Rebalance.Timeout = drain + 15*time.Second
	c.Net.ReadTimeout = max(30*time.Second, c.Consumer.Group.Rebalance.Timeout+10*time.Second)
}

func dlqProducerConfig(maxRecordBytes int) *sarama.Config {
	c := clientConfig("orderd-dlq")
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Producer.Idempotent = true // a retried send never writes a record twice
	c.Net.MaxOpenRequests = 1    // required by the idempotent producer
	// sarama's default of 1,000,000 bytes is smaller than what the orders
	// topic may accept: the DLQ must take any message that arrived.
	c.Producer.MaxMessageBytes = maxRecordBytes
	return c
}

// ensureTopics makes sure the orders and dead-letter topics exist and that
// the dead-letter topic accepts any message the orders topic accepted, with
// its headers added. It returns the dead-letter topic's effective
// max.message.bytes.
func ensureTopics(admin sarama.ClusterAdmin, cfg config.Config, log zerolog.Logger) (int, error) {
	topics, err := admin.ListTopics()
	if err != nil {
		return 0, fmt.Errorf("list topics: %w", err)
	}
	orders, ok := topics[cfg.KafkaTopic]
	if !ok {
		if !cfg.KafkaCreateTopics {
			return 0, fmt.Errorf("topic %s does not exist: create it, or set KAFKA_CREATE_TOPICS=true", cfg.KafkaTopic)
		}
		orders = sarama.TopicDetail{NumPartitions: int32(cfg.KafkaPartitions), ReplicationFactor: -1}
		if err := createTopic(admin, cfg.KafkaTopic, &orders); err != nil {
			return 0, err
		}
		log.Info().Str("topic", cfg.KafkaTopic).Int32("partitions", orders.NumPartitions).Msg("topic created")
	}
	ordersLimit, err := effectiveMaxMessageBytes(admin, cfg.KafkaTopic)
	if err != nil {
		return 0, err
	}

	need := ordersLimit.bytes + dlq.HeaderRoom
	needStr := strconv.Itoa(need)
	if _, ok := topics[cfg.KafkaDLQTopic]; !ok {
		if !cfg.KafkaCreateTopics {
			return 0, fmt.Errorf("dead-letter topic %s does not exist: create it with max.message.bytes=%d, or set KAFKA_CREATE_TOPICS=true",
				cfg.KafkaDLQTopic, need)
		}
		detail := &sarama.TopicDetail{
			NumPartitions:     orders.NumPartitions,
			ReplicationFactor: -1,
			ConfigEntries:     map[string]*string{"max.message.bytes": &needStr},
		}
		if err := createTopic(admin, cfg.KafkaDLQTopic, detail); err != nil {
			return 0, err
		}
		log.Info().Str("topic", cfg.KafkaDLQTopic).Int("max_message_bytes", need).Msg("dead-letter topic created")
	}
	dlqLimit, err := effectiveMaxMessageBytes(admin, cfg.KafkaDLQTopic)
	if err != nil {
		return 0, err
	}
	switch {
	case dlqLimit.bytes >= need:
	case cfg.KafkaCreateTopics:
		err := admin.IncrementalAlterConfig(sarama.TopicResource, cfg.KafkaDLQTopic, map[string]sarama.IncrementalAlterConfigsEntry{
			"max.message.bytes": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &needStr},
		}, false)
		if err != nil {
			return 0, fmt.Errorf("raise max.message.bytes of %s to %d: %w", cfg.KafkaDLQTopic, need, err)
		}
		log.Info().Str("topic", cfg.KafkaDLQTopic).Int("max_message_bytes", need).Int("was", dlqLimit.bytes).
			Msg("dead-letter topic's max.message.bytes raised to take any message of the orders topic")
		dlqLimit = topicLimit{bytes: need, source: "set by orderd"}
	default:
		log.Warn().Str("topic", cfg.KafkaDLQTopic).Int("max_message_bytes", dlqLimit.bytes).Int("need", need).
			Msg("the dead-letter topic is smaller than the orders topic: larger dead letters are cut to fit (dlq-truncated); raise its max.message.bytes to keep them whole")
	}
	log.Info().Str("topic", cfg.KafkaTopic).Int("max_message_bytes", ordersLimit.bytes).Str("from", ordersLimit.source).
		Str("dlq_topic", cfg.KafkaDLQTopic).Int("dlq_max_message_bytes", dlqLimit.bytes).Str("dlq_from", dlqLimit.source).
		Msg("topic limits")
	return dlqLimit.bytes, nil
}

// topicLimit is a topic's effective max.message.bytes and where it comes
// from.
type topicLimit struct {
	bytes  int
	source string
}

// effectiveMaxMessageBytes asks the brokers for the record-batch limit that
// applies to topic. ListTopics cannot tell: it leaves out config entries
// that are defaults or inherited from the broker, which is just the case of
// a broker whose message.max.bytes was raised for every topic.
// DescribeConfigs answers them, with their source. A topic entry that is
// only the default may still be overridden by the broker's message.max.bytes
// (not every broker reports the inheritance), so a broker is asked in the
// same call; if it may not be asked (no DESCRIBE_CONFIGS on the cluster),
// the topic's answer stands.
func effectiveMaxMessageBytes(admin sarama.ClusterAdmin, topic string) (topicLimit, error) {
	resources := []*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{"max.message.bytes"}}}
	if brokers, _, err := admin.DescribeCluster(); err == nil && len(brokers) > 0 {
		resources = append(resources, &sarama.ConfigResource{
			Type: sarama.BrokerResource, Name: strconv.Itoa(int(brokers[0].ID())), ConfigNames: []string{"message.max.bytes"},
		})
	}
	results, err := admin.DescribeConfigs(resources, sarama.DescribeConfigsOptions{})
	if err != nil {
		return topicLimit{}, fmt.Errorf("describe the configuration of topic %s: %w", topic, err)
	}
	limit := topicLimit{bytes: defaultMaxMessageBytes, source: "kafka's default"}
	for _, r := range results {
		if r.Type != sarama.TopicResource {
			continue
		}
		if r.ErrorCode != sarama.ErrNoError {
			return topicLimit{}, fmt.Errorf("describe the configuration of topic %s: %w: %s", topic, r.ErrorCode, r.ErrorMsg)
		}
		if n, src, ok := configValue(r.Configs, "max.message.bytes"); ok {
			limit = topicLimit{bytes: n, source: configSource(src)}
			if src != sarama.SourceDefault && src != sarama.SourceUnknown {
				return limit, nil
			}
		}
	}
	for _, r := range results {
		if r.Type != sarama.BrokerResource || r.ErrorCode != sarama.ErrNoError {
			continue
		}
		if n, src, ok := configValue(r.Configs, "message.max.bytes"); ok && src != sarama.SourceDefault && src != sarama.SourceUnknown {
			return topicLimit{bytes: n, source: "inherited from the broker's message.max.bytes"}, nil
		}
	}
	return limit, nil
}

// configValue is the positive integer value of the entry called name, with
// its source.
func configValue(entries []sarama.ConfigEntry, name string) (int, sarama.ConfigSource, bool) {
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Value); e.Name == name && err == nil && n > 0 {
			return n, e.Source, true
		}
	}
	return 0, sarama.SourceUnknown, false
}

func configSource(s sarama.ConfigSource) string {
	switch s {
	case sarama.SourceTopic:
		return "the topic's own max.message.bytes"
	case sarama.SourceDynamicBroker, sarama.SourceDynamicDefaultBroker, sarama.SourceStaticBroker:
		return "inherited from the broker's message.max.bytes"
	default:
		return "kafka's default"
	}
}

func createTopic(admin sarama.ClusterAdmin, name string, detail *sarama.TopicDetail) error {
	err := admin.CreateTopic(name, detail, false)
	if errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return nil // another replica created it first
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	return nil
}
