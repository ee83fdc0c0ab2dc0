package parking

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrNotParkable: the connection did not come from a Lot's listener (or
// cannot give its file descriptor).
var ErrNotParkable = errors.New("parking: connection cannot be parked")

// Server serves a request that arrived on an idle kept-alive connection of
// the Lot, so that a re-poll does not go back through net/http. data is
// what one read returned; Serve decides what happens next.
type Server interface {
	Serve(c net.Conn, data []byte) Outcome
}

// Outcome is what a Server did with a request.
type Outcome struct {
	Resp    []byte // the response to write (unless Parked or HandOff)
	Close   bool   // close after writing Resp
	Parked  bool   // the request was parked on this connection (Park was called)
	HandOff bool   // not served: give the connection to net/http, data replayed first
}

// Lot is the set of parked connections, the watcher and the workers that
// answer them.
type Lot struct {
	epfd   int
	pipeR  int
	pipeW  int
	mu     sync.Mutex
	spots  map[uint64]*Spot
	nextID uint64
	held   atomic.Int64
	closed atomic.Bool

	idleTimeout time.Duration
	server      Server

	qmu     sync.Mutex
	qcond   *sync.Cond
	queue   []func()
	stopped bool

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Options configure a Lot.
type Options struct {
	Workers int // at least 1
	// Server, when set, serves the next request of an answered kept-alive
	// connection natively; without it the connection goes back to net/http.
	Server Server
	// IdleTimeout closes a connection idle in the Lot (default 30s).
	IdleTimeout time.Duration
}

// New starts a Lot.
func New(o Options) (*Lot, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	l := &Lot{epfd: epfd, pipeR: p[0], pipeW: p[1], spots: make(map[uint64]*Spot), nextID: 1,
		idleTimeout: o.IdleTimeout, server: o.Server}
	l.qcond = sync.NewCond(&l.qmu)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: 0}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.pipeR, &ev); err != nil {
		l.closeFDs()
		return nil, err
	}
	l.wg.Add(1)
	go l.watch()
	for range max(o.Workers, 1) {
		l.wg.Add(1)
		go l.work()
	}
	return l, nil
}

// SetServer sets the native Server (before any connection is parked).
func (l *Lot) SetServer(s Server) { l.server = s }

func (l *Lot) closeFDs() {
	syscall.Close(l.epfd)
	syscall.Close(l.pipeR)
	syscall.Close(l.pipeW)
}

// Parked is the number of held polls parked now (idle kept-alive
// connections are not counted).
func (l *Lot) Parked() int { return int(l.held.Load()) }

// Submit runs f on a worker. After Close, f is dropped.
func (l *Lot) Submit(f func()) {
	l.qmu.Lock()
	if l.stopped {
		l.qmu.Unlock()
		return
	}
	l.queue = append(l.queue, f)
	l.qmu.Unlock()
	l.qcond.Signal()
}

func (l *Lot) work() {
	defer l.wg.Done()
	for {
		l.qmu.Lock()
		for len(l.queue) == 0 && !l.stopped {
			l.qcond.Wait()
		}
		if len(l.queue) == 0 && l.stopped {
			l.qmu.Unlock()
			return
		}
		f := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		if len(l.queue) == 0 {
			l.queue = nil // let a large backlog's array go
		}
		l.qmu.Unlock()
		f()
	}
}

const (
	spotHeld      int32 = iota // a held poll: watching for a hang-up
	spotAnswering              // a worker writes its answer
	spotIdle                   // kept alive, waiting for the next request
	spotServing                // a worker reads and serves the next request
	spotGone                   // closed or handed back
)

// Spot is one connection known to the Lot.
type Spot struct {
	lot   *Lot
	conn  *conn
	fd    int
	id    uint64
	gone  func()
	state atomic.Int32
	since atomic.Int64 // UnixNano when it went idle
}

const (
	evHangUp = syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR
	evOne    = syscall.EPOLLONESHOT
)

// watch waits for events of parked and idle connections.
func (l *Lot) watch() {
	defer l.wg.Done()
	events := make([]syscall.EpollEvent, 128)
	every := min(max(l.idleTimeout/10, 10*time.Millisecond), time.Second)
	lastSweep := time.Now()
	for {
		n, err := syscall.EpollWait(l.epfd, events, int(every/time.Millisecond))
		if now := time.Now(); now.Sub(lastSweep) >= every {
			lastSweep = now
			l.sweepIdle(now)
		}
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			return
		}
		for i := 0; i < n; i++ {
			id := uint64(uint32(events[i].Fd)) | uint64(uint32(events[i].Pad))<<32
			if id == 0 {
				return // Close wrote to the pipe
			}
			l.mu.Lock()
			s := l.spots[id]
			l.mu.Unlock()
			if s != nil {
				l.event(s, events[i].Events)
			}
		}
	}
}

func (l *Lot) event(s *Spot, ev uint32) {
	switch s.state.Load() {
	case spotHeld:
		if s.state.CompareAndSwap(spotHeld, spotGone) {
			l.held.Add(-1)
			l.drop(s)
			if s.gone != nil {
				l.Submit(s.gone)
			}
		}
	case spotIdle:
		if ev&syscall.EPOLLIN == 0 {
			if s.state.CompareAndSwap(spotIdle, spotGone) {
				l.drop(s)
			}
			return
		}
		if s.state.CompareAndSwap(spotIdle, spotServing) {
			l.Submit(func() { l.serveNext(s) })
		}
	}
}

// drop forgets s and closes its connection.
func (l *Lot) drop(s *Spot) {
	s.state.Store(spotGone)
	l.unregister(s)
	s.conn.Close()
}

// sweepIdle closes the connections idle for longer than the idle timeout.
func (l *Lot) sweepIdle(now time.Time) {
	cutoff := now.Add(-l.idleTimeout).UnixNano()
	var old []*Spot
	l.mu.Lock()
	for _, s := range l.spots {
		if s.state.Load() == spotIdle && s.since.Load() < cutoff {
			old = append(old, s)
		}
	}
	l.mu.Unlock()
	for _, s := range old {
		if s.state.CompareAndSwap(spotIdle, spotGone) {
			l.drop(s)
		}
	}
}

// Drain waits until no held poll is parked or the deadline passes.
func (l *Lot) Drain(deadline time.Time) bool {
	for l.Parked() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// Close stops the watcher and the workers (after the queued work has run)
// and closes every connection still in the Lot. Safe to call twice.
func (l *Lot) Close() {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		l.qmu.Lock()
		l.stopped = true
		l.qmu.Unlock()
		l.qcond.Broadcast()
		syscall.Write(l.pipeW, []byte{1})
		l.wg.Wait()
		l.mu.Lock()
		rest := make([]*Spot, 0, len(l.spots))
		for _, s := range l.spots {
			rest = append(rest, s)
		}
		l.mu.Unlock()
		for _, s := range rest {
			if s.state.CompareAndSwap(spotHeld, spotGone) {
				l.held.Add(-1)
			}
			l.drop(s)
		}
		l.mu.Lock()
		l.closeFDs()
		l.epfd = -1
		l.mu.Unlock()
	})
}

func (l *Lot) unregister(s *Spot) {
	l.mu.Lock()
	if _, ok := l.spots[s.id]; ok {
		delete(l.spots, s.id)
		if l.epfd >= 0 {
			_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, s.fd, nil)
		}
	}
	s.conn.spot = nil
	l.mu.Unlock()
}

// arm (re)arms s's events; false when the Lot is closed or s is gone.
func (l *Lot) arm(s *Spot, events uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.epfd < 0 || l.spots[s.id] != s {
		return false
	}
	ev := syscall.EpollEvent{Events: events | evOne, Fd: int32(uint32(s.id)), Pad: int32(uint32(s.id >> 32))}
	return syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, s.fd, &ev) == nil
}

// Park takes over c, a connection from one of this Lot's listeners whose
// request is a held poll: hijacked from net/http, or read by the Lot's own
// Server. buffered is what was read beyond the request (pipelined bytes):
// it is replayed later. gone is run (once, on a worker) if the client hangs
// up before Answer.
func (l *Lot) Park(c net.Conn, buffered []byte, gone func()) (*Spot, error) {
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
		s.state.Store(spotHeld)
		l.held.Add(1)
		if !l.arm(s, evHangUp) {
			if s.state.CompareAndSwap(spotHeld, spotGone) {
				l.held.Add(-1)
				l.drop(s)
			}
			return nil, ErrNotParkable
		}
		return s, nil
	}
	fd := -1
	if sc, ok := lc.Conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			_ = rc.Control(func(f uintptr) { fd = int(f) })
		}
	}
	if fd < 0 {
		return nil, ErrNotParkable
	}
	s := &Spot{lot: l, conn: lc, fd: fd, gone: gone}
	l.mu.Lock()
	if l.epfd < 0 {
		l.mu.Unlock()
		return nil, ErrNotParkable
	}
	s.id = l.nextID
	l.nextID++
	ev := syscall.EpollEvent{Events: evHangUp | evOne, Fd: int32(uint32(s.id)), Pad: int32(uint32(s.id >> 32))}
	l.spots[s.id] = s
	lc.spot = s
	l.held.Add(1)
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		delete(l.spots, s.id)
		lc.spot = nil
		l.held.Add(-1)
		l.mu.Unlock()
		return nil, err
	}
	l.mu.Unlock()
	return s, nil
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
	s.lot.held.Add(-1)
	s.lot.send(s, resp, func() { s.lot.afterWrite(s, keepAlive) })
	return true
}

// send writes resp and then runs then; on a write error the connection is
// dropped instead. The first attempt is one non-blocking write(2) on the
// descriptor (the Lot owns the connection now); only a client too slow to
// take it all at once gets a goroutine that finishes the write with a
// deadline.
func (l *Lot) send(s *Spot, resp []byte, then func()) {
	n, err := writeNow(s.fd, resp)
	if err == nil && n == len(resp) {
		then()
		return
	}
	if err != nil && err != syscall.EAGAIN {
		l.drop(s)
		return
	}
	c := s.conn
	rest := resp[n:]
	go func() {
		_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(rest); err != nil {
			l.drop(s)
			return
		}
		_ = c.SetWriteDeadline(time.Time{})
		then()
	}()
}

// writeNow writes what the socket takes without waiting.
func writeNow(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Write(fd, b[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m <= 0 {
			return n, syscall.EAGAIN
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
	case l.server != nil && len(s.conn.prefix) == 0:
		l.idleWait(s)
	default:
		s.state.Store(spotGone)
		l.unregister(s)
		handBack(s.conn, true)
	}
}

// idleWait arms s for its next request; the watcher closes it after the
// idle timeout.
func (l *Lot) idleWait(s *Spot) {
	s.since.Store(time.Now().UnixNano())
	s.state.Store(spotIdle)
	if !l.arm(s, syscall.EPOLLIN|evHangUp) {
		if s.state.CompareAndSwap(spotIdle, spotGone) {
			l.drop(s)
		}
	}
}

var readBufs = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// serveNext reads the next request of an idle connection and has the
// Server serve it.
func (l *Lot) serveNext(s *Spot) {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	n := 0
	if len(s.conn.prefix) > 0 {
		n = copy(buf, s.conn.prefix)
		s.conn.prefix = s.conn.prefix[n:]
	}
	if n == 0 {
		var err error
		n, err = syscall.Read(s.fd, buf)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			l.idleWait(s) // nothing after all: wait again
			return
		}
		if err != nil || n <= 0 {
			l.drop(s)
			return
		}
	}
	out := l.server.Serve(s.conn, buf[:n])
	switch {
	case out.Parked:
		// Held again on this connection: Park re-armed it.
	case out.HandOff:
		s.conn.prefix = append(append([]byte(nil), buf[:n]...), s.conn.prefix...)
		s.state.Store(spotGone)
		l.unregister(s)
		handBack(s.conn, true)
	default:
		l.send(s, out.Resp, func() { l.afterWrite(s, !out.Close) })
	}
}

func handBack(c *conn, keepAlive bool) {
	if !keepAlive || !c.home.inject(c) {
		c.Close()
	}
}
