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
