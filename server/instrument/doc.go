// Package instrument measures orderd's HTTP routes: a Prometheus counter
// and latency histogram per route, bound up front so that a request costs
// two atomic adds; a SERVER span per traced route, continuing the request's
// traceparent, with exemplars that lead from a latency bucket to a trace;
// and the bucket counts the console's charts read without gathering the
// registry. The server wraps each handler in it.
//
// It never imports orderd's other packages: it knows routes and status
// codes, never orders, stores or Kafka.
package instrument
