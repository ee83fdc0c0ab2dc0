package parking

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrNotParkable: the connection did not come from a Lot's listener (or
// cannot give its file descriptor).
var ErrNotParkable = errors.New("parking: connection cannot be parked")

// Server serves a request that arrived on a connection the Lot holds idle
// (a kept-alive connection after an answer, or a new one from a native
// listener), so that it does not go through net/http. data is what one
// read returned; Serve decides what happens next.
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

// Lot is the set of parked and idle connections, the event loop that
// watches them and the workers that run blocking work.
type Lot struct {
	epfd  int
	epf   *os.File // epfd, waited on through the runtime's poller
	pipeR int
	pipeW int

	mu     sync.Mutex
	spots  map[uint64]*Spot
	nextID uint64
	held   atomic.Int64
	closed atomic.Bool

	idleTimeout  time.Duration
	firstTimeout time.Duration
	server       Server
	inline       bool

	// The loop's queue (Options.Inline): work posted to the loop.
	lmu      sync.Mutex
	lqueue   []func()
	sleeping bool // the loop waits in the poller: post must wake it
	lstopped bool

	// The workers' queue.
	qmu     sync.Mutex
	qcond   *sync.Cond
	queue   []func()
	stopped bool

	stop      chan struct{}
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
	// FirstTimeout closes a new connection (ListenNative) that has sent
	// no request by then (default IdleTimeout).
	FirstTimeout time.Duration
	// Inline runs the Server, answers and hang-ups on the event loop
	// itself, as an event-driven server does: no hand-off between threads
	// per request. Only for a Server and callbacks that never block (the
	// in-memory engine); otherwise they run on the workers.
	Inline bool
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
	if o.FirstTimeout <= 0 {
		o.FirstTimeout = o.IdleTimeout
	}
	l := &Lot{epfd: epfd, pipeR: p[0], pipeW: p[1], spots: make(map[uint64]*Spot), nextID: 1,
		idleTimeout: o.IdleTimeout, firstTimeout: o.FirstTimeout, server: o.Server, inline: o.Inline, stop: make(chan struct{})}
	l.qcond = sync.NewCond(&l.qmu)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: 0}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.pipeR, &ev); err != nil {
		l.closeFDs()
		return nil, err
	}
	// The loop never blocks in epoll_wait: it waits for the epoll
	// descriptor to become readable in the runtime's poller, so no thread
	// is tied up and the scheduler is not disturbed by a blocking call.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		l.closeFDs()
		return nil, err
	}
	l.epf = os.NewFile(uintptr(epfd), "parking-epoll")
	l.wg.Add(2)
	go l.loop()
	go l.sweep()
	for range max(o.Workers, 1) {
		l.wg.Add(1)
		go l.work()
	}
	return l, nil
}

// SetServer sets the native Server (before any connection is parked).
func (l *Lot) SetServer(s Server) { l.server = s }

func (l *Lot) closeFDs() {
	if l.epf != nil {
		l.epf.Close()
	} else {
		syscall.Close(l.epfd)
	}
	syscall.Close(l.pipeR)
	syscall.Close(l.pipeW)
}

// Parked is the number of held polls parked now (idle kept-alive
// connections are not counted).
func (l *Lot) Parked() int { return int(l.held.Load()) }

// Submit runs f off the caller's goroutine: on the loop when the Lot is
// Inline, else on a worker. After Close, f is dropped.
func (l *Lot) Submit(f func()) {
	if l.inline {
		l.post(f)
		return
	}
	l.qmu.Lock()
	if l.stopped {
		l.qmu.Unlock()
		return
	}
	l.queue = append(l.queue, f)
	l.qmu.Unlock()
	l.qcond.Signal()
}

// post queues f for the loop and wakes the loop if it waits.
func (l *Lot) post(f func()) {
	l.lmu.Lock()
	if l.lstopped {
		l.lmu.Unlock()
		return
	}
	l.lqueue = append(l.lqueue, f)
	wake := l.sleeping
	l.sleeping = false
	l.lmu.Unlock()
	if wake {
		syscall.Write(l.pipeW, []byte{1})
	}
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

// sweep closes, now and then, the connections idle for longer than the
// idle timeout.
func (l *Lot) sweep() {
	defer l.wg.Done()
	every := min(max(min(l.idleTimeout, l.firstTimeout)/10, 10*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case now := <-t.C:
			l.sweepIdle(now)
		}
	}
}

// sweepIdle closes the connections idle for longer than the idle timeout.
func (l *Lot) sweepIdle(now time.Time) {
	cutoff := now.UnixNano()
	var old []*Spot
	l.mu.Lock()
	for _, s := range l.spots {
		if s.state.Load() == spotIdle && s.until.Load() < cutoff {
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

// Close stops the loop and the workers (after the queued work has run)
// and closes every connection still in the Lot. Safe to call twice.
func (l *Lot) Close() {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		l.qmu.Lock()
		l.stopped = true
		l.qmu.Unlock()
		l.qcond.Broadcast()
		l.lmu.Lock()
		l.lstopped = true
		l.lmu.Unlock()
		close(l.stop)
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
