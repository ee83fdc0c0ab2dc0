package h1

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// TimeoutFields and TimeoutBody make the answer to a request that did not
// arrive whole within the request timeout: 408 in plain text, and the
// connection is closed after it.
var TimeoutFields = []Field{
	{Name: "Connection", Value: "close"},
	{Name: "Content-Type", Value: "text/plain; charset=utf-8"},
}

// TimeoutBody is the body of the 408.
const TimeoutBody = "408 Request Timeout\n"

// drainTime is how long a connection answered 408 is read (and what it
// sends thrown away) before it is closed, so that the client reads the
// 408 rather than a reset.
const drainTime = 500 * time.Millisecond

// TimeoutListener wraps the listener an http.Server serves, so that a
// request that does not arrive in time is answered as PROTOCOL.md says
// and net/http does not: net/http closes a connection whose read deadline
// passed without a word. A read that times out once a byte of a request
// has arrived (since the last response was written) is answered 408 with
// Connection: close, the connection is half-closed and drained briefly,
// and the read fails as before, so net/http closes it; a read that times
// out with nothing of a request (an idle keep-alive) only fails. Whatever
// is written after the 408 (a handler's own answer to the late body) is
// dropped.
func TimeoutListener(l net.Listener) net.Listener { return &timeoutListener{l} }

type timeoutListener struct{ net.Listener }

func (l *timeoutListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &TimeoutConn{Conn: c}, nil
}

// TimeoutConn is a connection of a TimeoutListener.
type TimeoutConn struct {
	net.Conn

	mu       sync.Mutex
	pending  bool // a byte of a request arrived since the last response
	aborting bool // the read deadline is in the past: a read is being stopped, not timed out
	answered bool // the 408 was written: nothing more is
}

// NetConn is the connection under c (a held poll parks that one).
func (c *TimeoutConn) NetConn() net.Conn { return c.Conn }

func (c *TimeoutConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	if n > 0 {
		c.pending = true
	}
	timedOut := err != nil && c.pending && !c.aborting && !c.answered && isTimeout(err)
	if timedOut {
		c.answered = true
	}
	c.mu.Unlock()
	if timedOut {
		c.answer()
	}
	return n, err
}

// answer writes the 408, half-closes and drains.
func (c *TimeoutConn) answer() {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(drainTime))
	_, _ = c.Conn.Write(AppendResponse(nil, 408, TimeoutFields, nil, []byte(TimeoutBody)))
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(drainTime))
	var buf [512]byte
	for {
		if _, err := c.Conn.Read(buf[:]); err != nil {
			return
		}
	}
}

func (c *TimeoutConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	answered := c.answered
	// A final response ends the request; an interim one (100 Continue)
	// does not.
	if !answered && !(len(b) > 10 && string(b[:10]) == "HTTP/1.1 1") {
		c.pending = false
	}
	c.mu.Unlock()
	if answered {
		return 0, net.ErrClosed
	}
	return c.Conn.Write(b)
}

func (c *TimeoutConn) SetReadDeadline(t time.Time) error {
	c.setAborting(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *TimeoutConn) SetDeadline(t time.Time) error {
	c.setAborting(t)
	return c.Conn.SetDeadline(t)
}

// setAborting notes whether a read deadline t stops a read now (net/http
// does that with one long past, to take the connection back from its
// background read) rather than bounding one.
func (c *TimeoutConn) setAborting(t time.Time) {
	c.mu.Lock()
	c.aborting = !t.IsZero() && time.Until(t) < 0
	c.mu.Unlock()
}

// CloseWrite half-closes the connection, when the one under it can.
func (c *TimeoutConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
