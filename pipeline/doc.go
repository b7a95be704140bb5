// Package pipeline is orderd's generic plumbing: stages joined by bounded
// channels, the envelope that carries a message together with its
// acknowledgement, a batcher, and the per-partition offset tracker that turns
// out-of-order acknowledgements into safe offset commits.
//
// It knows nothing about Kafka clients, databases or orders: the tracker
// speaks to Kafka through the one-method OffsetMarker interface, which a
// sarama.ConsumerGroupSession satisfies.
package pipeline
