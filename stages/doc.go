// Package stages holds orderd's ingest pipeline: the Kafka source, decode,
// validate, the batch writer, the cache update and the dead-letter producer,
// one file per stage, assembled by Ingest.
//
//	kafka source ─► decode ─► validate ─► batch ─► write ─► cache (ack)
//	                  │          │                  │
//	                  └──────────┴──────────────────┴─► dead-letter (ack)
//
// A message's offset is acked by whichever stage ends its journey: the cache
// stage after its batch committed, or the dead-letter stage after Kafka
// acknowledged the dead-letter record. Classify is the one place that decides
// whether an error condemns a message or is worth retrying.
package stages
