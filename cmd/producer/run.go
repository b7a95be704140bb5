package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/orderd/orderd/feed"
	"github.com/orderd/orderd/kafkaauth"
	"github.com/orderd/orderd/order"
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("producer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "producer publishes orders to Kafka for orderd.\n\n"+
			"Usage:\n  producer [flags]            publish -n generated orders at -rate\n"+
			"  producer -file order.json   publish one file as it is\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var (
		brokers    = fs.String("brokers", envOr(getenv, "KAFKA_BROKERS", "127.0.0.1:9092"), "comma-separated Kafka brokers (env KAFKA_BROKERS)")
		topic      = fs.String("topic", envOr(getenv, "KAFKA_TOPIC", "orders"), "topic to publish to (env KAFKA_TOPIC)")
		n          = fs.Int("n", 100, "number of messages to publish")
		rate       = fs.Float64("rate", 100, "messages per second; 0 publishes as fast as Kafka takes them")
		broken     = fs.Float64("broken", 0, "share of broken messages, 0 to 1 (they end up on the dead-letter topic)")
		duplicates = fs.Float64("duplicates", 0, "share of messages that repeat an earlier order unchanged, 0 to 1")
		seed       = fs.Uint64("seed", 0, "random seed; 0 picks one from the clock")
		file       = fs.String("file", "", "publish this JSON file as one message instead of generating orders")
		traced     = fs.Bool("trace", false, "with -file: put a new W3C traceparent on the message and print its trace id, to find the order's trace")
		auth       kafkaauth.Config // orderd's settings for a secured Kafka, env KAFKA_TLS...
	)
	if err := auth.DefaultsFromEnv(getenv); err != nil {
		return err
	}
	auth.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *n < 1 {
		return fmt.Errorf("-n must be at least 1 (the producer never runs unbounded)")
	}
	if err := auth.Validate(); err != nil {
		return err
	}
	pub, err := feed.NewPublisher(strings.Split(*brokers, ","), *topic, auth)
	if err != nil {
		return err
	}
	defer pub.Close()

	if *file != "" {
		return publishFile(ctx, pub, *file, *topic, *traced, stdout)
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	start := time.Now()
	stats, err := feed.Generate(ctx, pub, feed.Options{
		Count: *n, Rate: *rate, Broken: *broken, Duplicates: *duplicates, Seed: *seed,
	})
	if err != nil {
		return err
	}
	if err := pub.Flush(ctx); err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "published %d messages to %s in %s (%.0f/s): %d valid, %d broken, %d duplicates (seed %d)\n",
		stats.Total(), *topic, took.Round(time.Millisecond), float64(stats.Total())/took.Seconds(),
		stats.Valid, stats.Broken, stats.Duplicates, *seed)
	return nil
}

// publishFile publishes path's bytes unchanged, keyed by its order_uid when
// it decodes as an order (so it lands where orderd expects), unkeyed
// otherwise.
//
// With traced, the message carries a traceparent of a new trace, as a
// traced producer would send it: orderd's span of the message is then in
// that trace, whose id is printed.
func publishFile(ctx context.Context, pub *feed.Publisher, path, topic string, traced bool, stdout io.Writer) error {
	payload, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var key []byte
	var o order.Order
	if err := order.NewDecoder().Decode(payload, &o); err == nil {
		key = []byte(o.OrderUID)
	}
	var headers []sarama.RecordHeader
	var traceID string
	if traced {
		var ids [24]byte
		_, _ = rand.Read(ids[:]) // crypto/rand.Read never fails
		traceID = hex.EncodeToString(ids[:16])
		tp := "00-" + traceID + "-" + hex.EncodeToString(ids[16:]) + "-01" // sampled
		headers = append(headers, sarama.RecordHeader{Key: []byte("traceparent"), Value: []byte(tp)})
	}
	if err := pub.Send(ctx, key, payload, headers...); err != nil {
		return err
	}
	if err := pub.Flush(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published %s (%d bytes, key %q) to %s\n", path, len(payload), key, topic)
	if traced {
		fmt.Fprintf(stdout, "trace %s\n", traceID)
	}
	return nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
