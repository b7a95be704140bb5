package health

import (
	"errors"
	"testing"
)

func TestRegistry_UnhealthyUntilEveryComponentReportsOK(t *testing.T) {
	r := New()
	kafka := r.Component("kafka")
	store := r.Component("store")

	if r.Report().OK {
		t.Fatal("report OK before any component reported")
	}
	kafka.OK()
	if r.Report().OK {
		t.Fatal("report OK while store is still starting")
	}
	store.OK()
	if !r.Report().OK {
		t.Fatal("report not OK with every component OK")
	}

	store.Fail(errors.New("connection refused"))
	rep := r.Report()
	if rep.OK {
		t.Fatal("report OK with a failing component")
	}
	if got := rep.Components[1]; got.Name != "store" || got.OK || got.Detail != "connection refused" {
		t.Fatalf("store status = %+v", got)
	}
	if got := rep.Components[0]; got.Name != "kafka" || !got.OK || got.Detail != "" {
		t.Fatalf("kafka status = %+v", got)
	}
}

func TestComponent_SinceChangesOnlyWithHealth(t *testing.T) {
	r := New()
	c := r.Component("writer")
	c.Fail(errors.New("first"))
	since := r.Report().Components[0].Since
	c.Fail(errors.New("second")) // still failing: the outage started earlier
	if got := r.Report().Components[0]; !got.Since.Equal(since) || got.Detail != "second" {
		t.Fatalf("status = %+v, want since %v and the new detail", got, since)
	}
}

// Two writers on one aggregate: one's success does not hide the other's
// failure, and the detail says how many fail.
func TestAggregate_OneWritersSuccessDoesNotClearAnothersFailure(t *testing.T) {
	r := New()
	parts := r.Aggregate("writer", "writers", 2)
	parts[0].OK()
	parts[1].OK()
	if !r.Report().OK {
		t.Fatal("not OK with both parts OK")
	}
	parts[0].Fail(errors.New("save 1000 orders: connection refused"))
	parts[1].OK() // the other writer succeeds meanwhile
	got := r.Report().Components[0]
	if got.OK || got.Name != "writer" || got.Detail != "1 of 2 writers failing: save 1000 orders: connection refused" {
		t.Fatalf("status = %+v", got)
	}
	parts[1].Fail(errors.New("timeout"))
	if got := r.Report().Components[0]; got.Detail != "2 of 2 writers failing: save 1000 orders: connection refused" {
		t.Fatalf("status = %+v", got)
	}
	parts[0].OK()
	parts[1].OK()
	if !r.Report().OK {
		t.Fatal("not OK once both parts recovered")
	}

	// One part reads as a plain component.
	single := r.Aggregate("dlq", "producers", 1)
	single[0].Fail(errors.New("broker down"))
	if got := r.Report().Components[1]; got.Detail != "broker down" {
		t.Fatalf("single-part status = %+v", got)
	}
}
