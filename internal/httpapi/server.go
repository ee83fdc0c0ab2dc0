package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ServerOptions are the transport settings of the http.Server.
type ServerOptions struct {
	HTTPTimeout    time.Duration // idle keep-alive time (and the hold)
	RequestTimeout time.Duration // to deliver a complete request header
	MaxHeaderBytes int
	Logger         *slog.Logger
}

// NewServer returns an http.Server with every timeout set explicitly: a
// short ReadHeaderTimeout, IdleTimeout = --http-timeout, and no ReadTimeout
// or WriteTimeout, which would cut held polls short (bodies get their own
// deadline in readParams).
func NewServer(h http.Handler, o ServerOptions) *http.Server {
	hdr := min(o.RequestTimeout, o.HTTPTimeout)
	if hdr <= 0 {
		hdr = 10 * time.Second
	}
	s := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: hdr,
		IdleTimeout:       o.HTTPTimeout,
		MaxHeaderBytes:    headerLimit(o.MaxHeaderBytes),
	}
	// Handlers find their connection in the context, to park held polls.
	s.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, c)
	}
	if o.Logger != nil {
		s.ErrorLog = slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug)
	}
	return s
}

// headerSlop is what net/http reads beyond MaxHeaderBytes ("bufio slop").
const headerSlop = 4096

// headerLimit turns --max-header-bytes (request line and headers, in
// bytes) into the http.Server setting, which net/http exceeds by
// headerSlop: so that one byte over the switch is refused (431), not one
// byte over switch + 4 KiB. Limits up to headerSlop end up at headerSlop+1.
func headerLimit(n int) int {
	if n <= 0 {
		return 0 // net/http's default
	}
	return max(n-headerSlop, 1)
}

type connKey struct{}

// LimitListener accepts at most max connections at once. Beyond that it
// accepts, answers 503 with Retry-After and a -5 JSON body, and closes.
type LimitListener struct {
	net.Listener
	refusal  reply
	max      int64
	open     atomic.Int64
	refusing chan struct{} // bounds the goroutines that answer refusals
}

// NewLimitListener wraps l. quote wraps the refusal's JSON body as
// --quote-json wraps every other.
func NewLimitListener(l net.Listener, max int, quote bool) *LimitListener {
	return &LimitListener{Listener: l, refusal: reply{format: formatJSON, quote: quote}, max: int64(max), refusing: make(chan struct{}, 64)}
}

// refusalResponse is the whole answer to a connection over the limit.
func (l *LimitListener) refusalResponse() []byte {
	o := &l.refusal
	body := o.body(o.obj().int("return_code", codeUnavailable).str("error_message", errConnections.msg).done())
	return o.appendReply(nil, http.StatusServiceUnavailable, body, true, true)
}

// Accept implements net.Listener.
func (l *LimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &limitConn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		select {
		case l.refusing <- struct{}{}:
			go l.refuse(c)
		default:
			c.Close() // too many refusals in flight: just close
		}
	}
}

// refuse reads what the client sent (briefly) so that closing does not
// reset the connection before it reads the answer.
func (l *LimitListener) refuse(c net.Conn) {
	defer func() { <-l.refusing }()
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4096)
	_, _ = c.Read(buf)
	_, _ = c.Write(l.refusalResponse())
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_, _ = c.Read(buf)
}

type limitConn struct {
	net.Conn
	l    *LimitListener
	once sync.Once
}

// SyscallConn exposes the connection's descriptor (for parking.Lot).
func (c *limitConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("no file descriptor")
}

// CloseFD closes the descriptor but keeps the connection counted: the
// parking Lot holds a duplicate of it and calls Close when done.
func (c *limitConn) CloseFD() error { return c.Conn.Close() }

// CloseWrite half-closes the connection (net/http does before it closes
// one it answered with Connection: close), when the one under it can.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("cannot half-close")
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}
