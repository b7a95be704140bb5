// Package browse reads orderd's dead-letter topic back for inspection, with
// a plain consumer that joins no group and commits nothing: listing page by
// page with filters and a cursor, bounded in memory and in time whatever
// the topic's size, and getting chosen records whole, for a redrive.
//
// It imports dlq for the records' format, and never produces to Kafka,
// never imports the pipeline, the stages, storage or the server.
package browse
