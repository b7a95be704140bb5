package dlq

import (
	"errors"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orderd/orderd/internal/testenv"
)

// One request to a real broker in which records fail for different
// reasons, and others do not: each record gets its own error back.
func TestRecordErrors_EachRecordGetsItsOwnError(t *testing.T) {
	brokers, cluster := testenv.Kafka(t, "orders")
	cluster.Fault(kfake.Fault{
		Keys: []kmsg.Key{kmsg.Produce}, Topic: "orders", Partitions: []int32{1}, Err: kerr.TopicAuthorizationFailed, Count: -1,
	})
	cfg := ClientConfig("record-errors-test")
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.MaxMessageBytes = 1 << 10
	producer, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { producer.Close() })

	msg := func(partition int32, size int) *sarama.ProducerMessage {
		return &sarama.ProducerMessage{Topic: "orders", Partition: partition, Value: sarama.ByteEncoder(strings.Repeat("x", size))}
	}
	msgs := []*sarama.ProducerMessage{
		msg(0, 10),    // accepted
		msg(1, 10),    // the broker refuses partition 1
		msg(0, 2<<10), // sarama refuses it: larger than MaxMessageBytes
		msg(2, 10),    // accepted
		msg(1, 10),    // the broker refuses partition 1
	}
	sendErr := producer.SendMessages(msgs)
	if sendErr == nil {
		t.Fatal("SendMessages succeeded; want three records refused")
	}
	if strings.Contains(sendErr.Error(), "authoriz") {
		t.Fatalf("sarama's error %q already names the causes: the test shows nothing", sendErr)
	}
	got := RecordErrors(sendErr, msgs)
	var tooLarge sarama.ConfigurationError
	want := []func(error) bool{
		func(err error) bool { return err == nil },
		func(err error) bool { return errors.Is(err, sarama.ErrTopicAuthorizationFailed) },
		func(err error) bool {
			return errors.As(err, &tooLarge) && strings.Contains(string(tooLarge), "MaxMessageBytes")
		},
		func(err error) bool { return err == nil },
		func(err error) bool { return errors.Is(err, sarama.ErrTopicAuthorizationFailed) },
	}
	for i, ok := range want {
		if !ok(got[i]) {
			t.Errorf("record %d (partition %d): error %v", i, msgs[i].Partition, got[i])
		}
	}
}

func TestRecordErrors_AnErrorNamingNoRecordIsEverysOwn(t *testing.T) {
	msgs := []*sarama.ProducerMessage{{Topic: "orders"}, {Topic: "orders"}}
	for i, err := range RecordErrors(sarama.ErrOutOfBrokers, msgs) {
		if err != sarama.ErrOutOfBrokers {
			t.Errorf("record %d: %v, want the error itself", i, err)
		}
	}
	one := &sarama.ProducerError{Msg: msgs[0], Err: sarama.ErrNotEnoughReplicas}
	for i, err := range RecordErrors(one, msgs[:1]) {
		if err != sarama.ErrNotEnoughReplicas {
			t.Errorf("record %d of a SendMessage: %v, want its cause", i, err)
		}
	}
	for i, err := range RecordErrors(nil, msgs) {
		if err != nil {
			t.Errorf("record %d of a send that succeeded: %v", i, err)
		}
	}
}
