package testenv

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards TCP connections from a loopback port to a target, and can
// cut them all, or silence them, to simulate a fault of the service behind
// it (PostgreSQL, say) without touching the service itself.
type Proxy struct {
	t      testing.TB
	target string
	ln     net.Listener

	slow atomic.Int64 // nanoseconds each answer of the target waits, see Slow

	mu     sync.Mutex
	cut    bool
	refuse []byte                    // a connection whose first bytes hold this is refused, see RefuseFirst
	conns  map[net.Conn]*atomic.Bool // each socket's link: silenced or not
	wg     sync.WaitGroup
}

// StartProxy listens on 127.0.0.1 and forwards every connection to target.
// It stops when the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: proxy listen: %v", err)
	}
	p := &Proxy{t: t, target: target, ln: ln, conns: map[net.Conn]*atomic.Bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the host:port clients connect to instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every open connection and refuses new ones until Restore: to a
// client it looks like the service went away.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Blackhole silences every open connection for good: it stays open, but
// nothing sent either way arrives, and no FIN or RST ever tells either end
// (not even of the other end closing its socket),
// like a server that vanished without closing its sockets (a failed-over
// primary, a dropped route). New connections go through as usual.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, silenced := range p.conns {
		silenced.Store(true)
	}
}

// Slow makes every chunk the target sends wait d before it is passed on,
// open connections included, like a service under load or far away: each
// round trip takes d longer. 0 ends it.
func (p *Proxy) Slow(d time.Duration) { p.slow.Store(int64(d)) }

// RefuseFirst refuses every new connection whose first packet holds match,
// until Restore: the connection is closed before the target is dialled.
// With PostgreSQL (sslmode=disable) the first packet is the startup
// message, so a match on an application_name refuses one kind of client
// and lets the others through.
func (p *Proxy) RefuseFirst(match []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = bytes.Clone(match)
}

// Restore lets connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
	p.refuse = nil
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			client.Close()
			continue
		}
		p.conns[client] = new(atomic.Bool)
		p.mu.Unlock()
		p.wg.Add(1)
		go p.forward(client)
	}
}

func (p *Proxy) forward(client net.Conn) {
	defer p.wg.Done()
	defer p.forget(client)
	p.mu.Lock()
	refuse := p.refuse
	p.mu.Unlock()
	var first []byte
	if refuse != nil {
		buf := make([]byte, 8<<10)
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := client.Read(buf)
		_ = client.SetReadDeadline(time.Time{})
		if err != nil || bytes.Contains(buf[:n], refuse) {
			client.Close()
			return
		}
		first = buf[:n]
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	silenced := p.conns[client]
	p.conns[server] = silenced
	p.mu.Unlock()
	defer p.forget(server)
	if _, err := server.Write(first); err != nil {
		return
	}

	// When either direction ends (the peer closed, or Cut closed a
	// socket) both sockets are closed, which ends the other direction.
	// Once silenced, what is read is dropped instead of forwarded.
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if d := time.Duration(p.slow.Load()); n > 0 && d > 0 && src == server {
				time.Sleep(d)
			}
			if n > 0 && !silenced.Load() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	if !silenced.Load() {
		client.Close()
		server.Close()
	}
	// A silenced link does not pass a close on either: the other end keeps
	// its socket until it gives up itself, or Cut.
	<-done
}

func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) close() {
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}
