// Package stages holds orderd's ingest pipeline between the Kafka source
// (package consumer) and the dead-letter producer (package deadletter):
// decode, validate, the batch writer and the cache update, one file per
// stage, assembled by Ingest.
//
//	kafka source ─► decode ─► validate ─► batch ─► write ─► cache (ack)
//	                  │          │                  │
//	                  └──────────┴──────────────────┴─► dead-letter (ack)
//
// A message's offset is acked by whichever stage ends its journey: the cache
// stage after its batch committed, or the dead-letter stage after Kafka
// acknowledged the dead-letter record. Classify is the one place that decides
// whether an error condemns a message or is worth retrying.
//
// Its own files never import sarama, and it speaks no SQL or HTTP: Kafka is
// its sub-packages' business, PostgreSQL the storage package's.
package stages
