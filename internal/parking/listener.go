//go:build linux

package parking

import (
	"net"
	"sync"
)

// Listen wraps inner: its Accept yields inner's connections and the parked
// connections handed back after their answer.
func (l *Lot) Listen(inner net.Listener) net.Listener { return l.listen(inner, nil) }

// ListenNative wraps inner like Listen, but the Lot takes every new
// connection first: its requests go to the Lot's Server, and only what the
// Server hands off (or a connection the Lot cannot take) reaches Accept.
func (l *Lot) ListenNative(inner net.Listener) net.Listener { return l.listen(inner, l) }

func (l *Lot) listen(inner net.Listener, adopter *Lot) net.Listener {
	ln := &listener{Listener: inner, back: make(chan net.Conn, 16384), accepted: make(chan accepted), done: make(chan struct{}), lot: adopter}
	go ln.pump()
	return ln
}

type accepted struct {
	c   net.Conn
	err error
}

// listener is a Lot's listener: Accept yields the inner listener's
// connections (those the Lot does not adopt) and the ones handed back.
type listener struct {
	net.Listener
	back     chan net.Conn // handed back by the Lot (inject)
	accepted chan accepted // from pump
	done     chan struct{} // closed by Close
	once     sync.Once
	lot      *Lot // ListenNative: adopts new connections

	// closeMu guards closed, so that no connection is handed back into
	// back after Close has emptied it.
	closeMu sync.RWMutex
	closed  bool
}

// pump moves inner's accepts to the channel Accept selects on. It ends
// when inner fails (as it does once closed).
func (ln *listener) pump() {
	for {
		c, err := ln.Listener.Accept()
		if err == nil && ln.lot != nil {
			pc := &conn{Conn: c, home: ln}
			if ln.lot.Adopt(pc) == nil {
				continue
			}
			c = pc
		}
		select {
		case ln.accepted <- accepted{c, err}:
		case <-ln.done:
			if c != nil {
				c.Close()
			}
			return
		}
		if err != nil {
			var ne net.Error
			if ok := asNetError(err, &ne); ok && ne.Timeout() {
				continue
			}
			return
		}
	}
}

func asNetError(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}

func (ln *listener) Accept() (net.Conn, error) {
	select {
	case c := <-ln.back:
		return c, nil
	case a := <-ln.accepted:
		if a.err != nil {
			return nil, a.err
		}
		if pc, ok := a.c.(*conn); ok {
			return pc, nil
		}
		return &conn{Conn: a.c, home: ln}, nil
	case <-ln.done:
		return nil, net.ErrClosed
	}
}

func (ln *listener) Close() error {
	ln.closeMu.Lock()
	ln.closed = true
	ln.closeMu.Unlock()
	ln.once.Do(func() { close(ln.done) })
	err := ln.Listener.Close()
	// Connections handed back but not accepted again are closed.
	for {
		select {
		case c := <-ln.back:
			c.Close()
		default:
			return err
		}
	}
}

// inject hands c back to the server; false when the listener is closed or
// its queue is full (the caller closes c).
func (ln *listener) inject(c *conn) bool {
	ln.closeMu.RLock()
	defer ln.closeMu.RUnlock()
	if ln.closed {
		return false
	}
	select {
	case ln.back <- c:
		return true
	default:
		return false
	}
}

// Parkable reports whether c came from a Lot's listener.
func Parkable(c net.Conn) bool {
	_, ok := c.(*conn)
	return ok
}
