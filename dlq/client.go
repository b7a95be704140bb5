package dlq

import (
	"time"

	"github.com/IBM/sarama"
)

// ClientConfig is a sarama configuration suited to reading the dead-letter
// topic and redriving from it: a short fetch wait, since every read asks for
// records that are already there and waits out the fetch in flight before
// starting, and acknowledged sends for a SyncProducer.
func ClientConfig(clientID string) *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = clientID
	c.Consumer.MaxWaitTime = 10 * time.Millisecond
	// Fetch errors are read, not only logged: retention removing offsets
	// under a read, for one, must be seen at once, not waited out.
	c.Consumer.Return.Errors = true
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Metadata.AllowAutoTopicCreation = false
	// Bound every request, which no context can: sarama's defaults (30s per
	// read, three metadata retries) would let one silent broker hold a
	// caller for minutes.
	c.Net.DialTimeout = 5 * time.Second
	c.Net.ReadTimeout = 10 * time.Second
	c.Net.WriteTimeout = 10 * time.Second
	c.Metadata.Timeout = 20 * time.Second
	return c
}
