package writes_test

import (
	"context"
	"fmt"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
)

// Under a batch's span, isolating a refused order shows on it: the schema
// probe as a child span, each bisection and the refusal as events, naming
// sizes and SQLSTATEs only.
func TestTracing_RefusedOrderShowsOnTheBatchSpan(t *testing.T) {
	p := openPostgres(t)
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	recs := make([]storage.Record, 8)
	for i := range recs {
		recs[i] = storetest.Rec(t, storetest.OrderWith(t, fmt.Sprintf("traced-%d", i), func(o *order.Order) {
			if i == 5 {
				o.Delivery.City = "Kiryat\x00Mozkin" // 22021
			}
		}))
	}
	ctx, batch := tp.Tracer("test").Start(context.Background(), "write orders")
	if _, err := p.SaveOrders(ctx, recs); err != nil {
		t.Fatal(err)
	}
	batch.End()
	events := map[string]int{}
	for _, e := range spans.GetSpans()[len(spans.GetSpans())-1].Events {
		events[e.Name]++
		for _, kv := range e.Attributes {
			if kv.Value.String() == "Kiryat\x00Mozkin" {
				t.Errorf("event %s holds the order's data", e.Name)
			}
		}
	}
	if events["bisect around a refused order"] == 0 || events["order refused"] != 1 {
		t.Errorf("batch span events %v; want bisections and one refusal", events)
	}
	probed := false
	for _, s := range spans.GetSpans() {
		probed = probed || s.Name == "probe schema" && s.Parent.SpanID() == batch.SpanContext().SpanID()
	}
	if !probed {
		t.Error("no probe schema span under the batch span")
	}
}
