//go:build linux

package parking

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The states of a Spot (doc.go draws who moves it from which to which).
const (
	spotHeld      int32 = iota // a held poll: watching for a hang-up
	spotAnswering              // its answer is being written
	spotIdle                   // kept alive, waiting for the next request
	spotServing                // the next request is read and served
	spotGone                   // closed or handed back
)

// Spot is one connection known to the Lot.
type Spot struct {
	lot   *Lot
	lp    *evloop // the loop it is registered in
	conn  *conn
	fd    int
	id    uint64
	gone  Task // run if the client hangs up while held; may be nil
	state atomic.Int32
	until atomic.Int64 // UnixNano: closed if still idle then

	// What epoll said, kept until the state can act on it: the loop sets
	// them (event), whoever reads or serves clears readable and buffered.
	readable atomic.Bool // input arrived and was not read yet
	buffered atomic.Bool // conn.prefix holds bytes to serve (prefix is the owner's)
	rdhup    atomic.Bool // the client closed its side
	hup      atomic.Bool // reset or error

	// offloaded: its request is being served again on a worker
	// (Outcome.Offload); only the goroutine serving it reads or writes it.
	offloaded bool
}

// Park takes over c, a connection from one of this Lot's listeners whose
// request is a held poll: hijacked from net/http, or read by the Lot's own
// Server. buffered is what was read beyond the request (pipelined bytes):
// it is replayed later. gone is run (once, off the caller's goroutine) if
// the client hangs up before Answer.
func (l *Lot) Park(c net.Conn, buffered []byte, gone Task) (*Spot, error) {
	lc, ok := c.(*conn)
	if !ok {
		return nil, ErrNotParkable
	}
	if len(buffered) > 0 {
		lc.prefix = append([]byte(nil), buffered...)
	}
	if s := lc.spot; s != nil && s.state.Load() == spotServing {
		// Read natively and held again: already registered.
		s.gone = gone
		s.buffered.Store(len(lc.prefix) > 0)
		l.held.Add(1)
		s.state.Store(spotHeld) // serving -> held
		l.poke(s, false)        // a hang-up seen while it was served
		return s, nil
	}
	fd, err := lc.detach()
	if err != nil {
		return nil, ErrNotParkable
	}
	s := l.newSpot(lc, fd, gone)
	s.state.Store(spotHeld)
	l.held.Add(1)
	if err := l.register(s); err != nil {
		l.release()
		return nil, err
	}
	return s, nil
}

// newSpot returns a Spot for lc, detached to fd.
func (l *Lot) newSpot(lc *conn, fd int, gone Task) *Spot {
	s := &Spot{lot: l, conn: lc, fd: fd, gone: gone}
	s.buffered.Store(len(lc.prefix) > 0)
	return s
}

// Adopt takes c, a connection that has not sent a request yet, into the
// Lot: its requests go to the Server, like a kept-alive connection's.
func (l *Lot) Adopt(c net.Conn) error {
	lc, ok := c.(*conn)
	if !ok || l.server == nil {
		return ErrNotParkable
	}
	fd, err := lc.detach()
	if err != nil {
		return ErrNotParkable
	}
	s := l.newSpot(lc, fd, nil)
	s.until.Store(time.Now().Add(l.firstTimeout).UnixNano())
	s.state.Store(spotIdle)
	if err := l.register(s); err != nil {
		return err
	}
	if s.buffered.Load() {
		l.poke(s, false)
	}
	return nil
}

// writeTimeout bounds the write of an answer to a slow client.
const writeTimeout = 10 * time.Second

// Answer writes resp and then keeps the connection for its next request
// (keepAlive) or closes it. It returns false when the client had already
// gone (nothing was written) or it was answered before.
func (s *Spot) Answer(resp []byte, keepAlive bool) bool {
	if !s.state.CompareAndSwap(spotHeld, spotAnswering) {
		return false
	}
	s.lot.release()
	s.lot.send(s, resp, keepAlive)
	return true
}

// send writes resp and then keeps or closes the connection; on a write
// error it is dropped instead. The first attempt is one non-blocking
// write(2) on the descriptor (the Lot owns the connection now), or a send
// in the loop's next batch (batch.go); only a client too slow to take it
// all at once gets a goroutine that finishes the write with a deadline.
func (l *Lot) send(s *Spot, resp []byte, keepAlive bool) {
	if s.lp.queueSend(s, resp, keepAlive) {
		return // sent with the loop's others (flushSends)
	}
	l.write(s, resp, keepAlive)
}

// write makes send's first attempt now, with a write(2).
func (l *Lot) write(s *Spot, resp []byte, keepAlive bool) {
	n, err := writeNow(s.fd, resp)
	l.sent(s, resp, keepAlive, n, err)
}

// sent finishes an answer once n bytes of resp are written (err: what
// stopped the write).
func (l *Lot) sent(s *Spot, resp []byte, keepAlive bool, n int, err error) {
	if err == nil && n == len(resp) {
		l.afterWrite(s, keepAlive)
		return
	}
	if err != nil && err != unix.EAGAIN {
		l.drop(s)
		return
	}
	rest := resp[n:]
	f, err := dupFile(s.fd) // its own descriptor: s may be dropped meanwhile
	if err != nil {
		l.drop(s)
		return
	}
	go func() {
		if err := writeSlow(f, rest, writeTimeout); err != nil {
			l.drop(s)
			return
		}
		l.afterWrite(s, keepAlive)
	}()
}

// writeNow writes what the socket takes without waiting.
func writeNow(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := rawWrite(fd, b[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m <= 0 {
			return n, unix.EAGAIN
		}
		n += m
	}
	return n, nil
}

// afterWrite keeps an answered connection: in the Lot when it has a
// Server, else back in net/http.
func (l *Lot) afterWrite(s *Spot, keepAlive bool) {
	switch {
	case !keepAlive || l.closed.Load():
		l.drop(s)
	case l.server != nil:
		s.until.Store(time.Now().Add(l.idleTimeout).UnixNano())
		s.state.Store(spotIdle)
		l.poke(s, false) // input that came meanwhile is served now
	default:
		s.state.Store(spotGone)
		l.unregister(s)
		handBack(s.conn, true)
	}
}

// readBufSize is the most one read of a request takes.
const readBufSize = 4096

var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// serveNext reads the next request of an idle connection and has the
// Server serve it.
func (l *Lot) serveNext(s *Spot) {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	if len(s.conn.prefix) > 0 {
		n := copy(buf, s.conn.prefix)
		s.conn.prefix = s.conn.prefix[n:]
		s.buffered.Store(len(s.conn.prefix) > 0)
		l.serve(s, buf[:n])
		return
	}
	s.readable.Store(false)
	var n int
	var err error
	for {
		n, err = rawRead(s.fd, buf)
		if err != unix.EINTR {
			break
		}
	}
	l.serveRead(s, buf, n, err)
}

// serveRead serves what a read of s into buf returned.
func (l *Lot) serveRead(s *Spot, buf []byte, n int, err error) {
	if err == unix.EAGAIN {
		l.afterRead(s) // nothing after all: wait again
		return
	}
	if err != nil || n <= 0 {
		l.dropLater(s) // the client hung up
		return
	}
	if n == len(buf) {
		s.readable.Store(true) // there may be more: read again next time
	}
	l.serve(s, buf[:n])
}

// serve has the Server serve data, a request read from s. A panic in the
// Server is logged and closes the connection, so that one request cannot
// stop the loop or the process.
func (l *Lot) serve(s *Spot, data []byte) {
	defer func() {
		if v := recover(); v != nil {
			l.logPanic("the native server", v)
			l.abandon(s)
		}
	}()
	offloaded := s.offloaded
	s.offloaded = false
	s.conn.onLoop = l.inline && !offloaded
	out := l.server.Serve(s.conn, data)
	s.conn.onLoop = false
	switch {
	case out.Parked:
		// Held again on this connection (Park made it so).
	case out.Offload && !offloaded:
		// Served again on a worker, where it may wait; the loop goes on.
		s.conn.prefix = append(append([]byte(nil), data...), s.conn.prefix...)
		s.buffered.Store(true)
		l.submitWork(TaskFunc(func() {
			s.offloaded = true // read and cleared by serve, on this worker
			l.serveNext(s)
		}))
	case out.HandOff || out.Offload:
		s.conn.prefix = append(append([]byte(nil), data...), s.conn.prefix...)
		s.state.Store(spotGone)
		l.unregister(s)
		handBack(s.conn, true)
	default:
		l.send(s, out.Resp, !out.Close)
	}
}

// abandon closes s after its Server panicked, whether the request was
// being served or had been parked (then its gone Task runs, as for a
// hang-up).
func (l *Lot) abandon(s *Spot) {
	switch {
	case s.state.CompareAndSwap(spotHeld, spotGone):
		l.release()
		l.drop(s)
		if s.gone != nil {
			s.Submit(s.gone)
		}
	case s.state.CompareAndSwap(spotServing, spotGone):
		l.drop(s)
	}
}

// afterRead puts s back to idle when a read found nothing.
func (l *Lot) afterRead(s *Spot) {
	s.state.Store(spotIdle)
	l.poke(s, false)
}

// handBack gives c to net/http (attached to the runtime again).
func handBack(c *conn, keepAlive bool) {
	if !keepAlive || c.attach() != nil || !c.home.inject(c) {
		c.Close()
	}
}
