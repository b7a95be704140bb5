// Package health keeps the state of orderd's components (Kafka consumer,
// store, writer, dead-letter producer, cache warm-up) for GET /health. Each
// component reports its own state; a reader gets one consistent snapshot.
package health

import (
	"sync"
	"time"
)

// Registry holds the components in the order they were registered.
type Registry struct {
	mu    sync.Mutex
	comps []*Component
}

// New returns an empty registry.
func New() *Registry { return &Registry{} }

// Component registers a component that is not ready yet: a component is
// unhealthy until it first reports OK.
func (r *Registry) Component(name string) *Component {
	c := &Component{name: name, detail: "starting", since: time.Now()}
	r.mu.Lock()
	r.comps = append(r.comps, c)
	r.mu.Unlock()
	return c
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
	Detail string    // why it is not OK; empty when OK
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

// Component is one part of orderd whose health is reported.
type Component struct {
	name string

	mu     sync.Mutex
	ok     bool
	detail string
	since  time.Time
}

// OK reports the component healthy.
func (c *Component) OK() { c.set(true, "") }

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
