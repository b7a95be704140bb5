// Package health keeps the state of orderd's components (Kafka consumer,
// store, writer, dead-letter producer, cache warm-up) for GET /health and
// the liveness of its loops for GET /livez. Each component reports its own
// state, through Retries when its work is retried; a reader gets one
// consistent snapshot.
//
// Of orderd's packages it imports only pipeline (for Retry): never the
// stages, the store, Kafka clients or the HTTP server, which all report
// through it.
package health

import (
	"fmt"
	"sync"
	"time"
)

// Registry holds the components in the order they were registered.
type Registry struct {
	mu    sync.Mutex
	comps []interface{ status() Status }
}

// New returns an empty registry.
func New() *Registry { return &Registry{} }

// Component registers a component that is not ready yet: a component is
// unhealthy until it first reports OK. It must have one writer; work done
// by several goroutines at once reports through an Aggregate.
func (r *Registry) Component(name string) *Component {
	c := newComponent(name)
	r.add(c)
	return c
}

// Aggregate registers one component made of n parts, for work that n
// goroutines do at once: each reports on its own part, so one's success never
// clears another's failure. It is healthy while every part is; otherwise
// its detail says how many of the n (called noun, plural) fail and why the
// first of them does. Parts start unhealthy, like components.
func (r *Registry) Aggregate(name, noun string, n int) []*Component {
	a := &aggregate{name: name, noun: noun, parts: make([]*Component, max(n, 1))}
	for i := range a.parts {
		a.parts[i] = newComponent(name)
	}
	r.add(a)
	return a.parts
}

func (r *Registry) add(c interface{ status() Status }) {
	r.mu.Lock()
	r.comps = append(r.comps, c)
	r.mu.Unlock()
}

// Report is a snapshot of every component.
type Report struct {
	OK         bool
	Components []Status
}

// Status is one component's state.
type Status struct {
	Name   string
	OK     bool
	Detail string    // why it is not OK; when OK, empty or a Note
	Since  time.Time // when it entered this state
}

// Report returns the state of every component. It is OK only if every
// component is.
func (r *Registry) Report() Report {
	r.mu.Lock()
	comps := r.comps
	r.mu.Unlock()
	rep := Report{OK: true, Components: make([]Status, 0, len(comps))}
	for _, c := range comps {
		s := c.status()
		rep.OK = rep.OK && s.OK
		rep.Components = append(rep.Components, s)
	}
	return rep
}

// aggregate is a component made of parts with a writer each.
type aggregate struct {
	name, noun string
	parts      []*Component
}

func (a *aggregate) status() Status {
	out := Status{Name: a.name, OK: true}
	var failing []Status
	for _, p := range a.parts {
		s := p.status()
		if !s.OK {
			failing = append(failing, s)
		}
		if s.Since.After(out.Since) {
			out.Since = s.Since // the latest change: when the whole became what it is
		}
	}
	if len(failing) == 0 {
		return out
	}
	out.OK, out.Since = false, failing[0].Since
	for _, s := range failing[1:] {
		if s.Since.Before(out.Since) {
			out.Since = s.Since // failing since the first part failed
		}
	}
	out.Detail = failing[0].Detail
	if len(a.parts) > 1 {
		out.Detail = fmt.Sprintf("%d of %d %s failing: %s", len(failing), len(a.parts), a.noun, failing[0].Detail)
	}
	return out
}

// Component is one part of orderd whose health is reported.
type Component struct {
	name string

	mu     sync.Mutex
	ok     bool
	detail string
	since  time.Time
}

func newComponent(name string) *Component {
	return &Component{name: name, detail: "starting", since: time.Now()}
}

// OK reports the component healthy.
func (c *Component) OK() { c.set(true, "") }

// Note reports the component healthy, with a detail worth knowing (what the
// cache warm-up holds, say).
func (c *Component) Note(detail string) { c.set(true, detail) }

// Fail reports the component unhealthy because of err.
func (c *Component) Fail(err error) { c.set(false, err.Error()) }

// Wait reports the component not ready yet, for the reason given
// (connecting, warming up...).
func (c *Component) Wait(reason string) { c.set(false, reason) }

func (c *Component) set(ok bool, detail string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok != ok || c.detail != detail {
		if c.ok != ok {
			c.since = time.Now()
		}
		c.ok, c.detail = ok, detail
	}
}

func (c *Component) status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Status{Name: c.name, OK: c.ok, Detail: c.detail, Since: c.since}
}
