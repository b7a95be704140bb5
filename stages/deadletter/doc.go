// Package deadletter is the last stage of orderd's ingest pipeline for what
// cannot be processed: it publishes each condemned message to the
// dead-letter topic, as dlq's format says, and acks it once Kafka has
// acknowledged its record, retrying an outage for as long as it lasts.
//
// It never imports the other stages (they import it for Dead and Poison),
// storage, pgx or the order model: what it publishes is the message's
// original bytes and why it was condemned.
package deadletter
