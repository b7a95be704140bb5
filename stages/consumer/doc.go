// Package consumer is the Kafka end of orderd's ingest pipeline: KafkaSource
// consumes the orders topic as a member of a consumer group and feeds each
// message into the pipeline with its acknowledgement, marking offsets only
// as far as the pipeline has finished without gaps; CommitWatch checks that
// what was marked reaches the broker, and reports the commits health
// component.
//
// It imports stages for the envelope, metrics and tracing it shares with the
// other stages. It never imports storage or pgx, and never produces to
// Kafka: dead letters are the dead-letter stage's.
package consumer
