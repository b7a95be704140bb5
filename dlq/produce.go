package dlq

import (
	"errors"

	"github.com/IBM/sarama"
)

// RecordErrors is each message's own error in what a SyncProducer's
// SendMessages returned for msgs, in their order: nil for a message Kafka
// acknowledged, its ProducerError's cause for one that failed, and err
// itself for every message when err names none (no broker reachable, say).
// sarama's ProducerErrors says only "Failed to deliver N messages" until it
// is unwrapped, and the causes (a topic not authorized, a record too large)
// are what an operator needs. Messages are matched by pointer, so each must
// be a distinct *ProducerMessage.
func RecordErrors(err error, msgs []*sarama.ProducerMessage) []error {
	out := make([]error, len(msgs))
	if err == nil {
		return out
	}
	var perrs sarama.ProducerErrors
	var perr *sarama.ProducerError
	switch {
	case errors.As(err, &perrs):
		byMsg := make(map[*sarama.ProducerMessage]error, len(perrs))
		for _, pe := range perrs {
			byMsg[pe.Msg] = pe.Err
		}
		for i, msg := range msgs {
			out[i] = byMsg[msg]
		}
	case errors.As(err, &perr):
		for i := range out {
			out[i] = perr.Err
		}
	default:
		for i := range out {
			out[i] = err
		}
	}
	return out
}
