package parking

import (
	"errors"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
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
	loops  []*evloop
	next   atomic.Uint32 // round robin over loops
	held   atomic.Int64
	closed atomic.Bool

	idleTimeout  time.Duration
	firstTimeout time.Duration
	server       Server
	inline       bool
	ioUring      bool
	ringErr      error // why a loop has no ring, when one was asked for

	// The workers' queue.
	qmu     sync.Mutex
	qcond   *sync.Cond
	queue   []Task
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
	// Inline runs the Server, answers and hang-ups on the event loops
	// themselves, as an event-driven server does: no hand-off between
	// threads per request. Only for a Server and callbacks that never block
	// (the in-memory engine); otherwise they run on the workers.
	Inline bool
	// Loops is the number of event loops (default 1); connections are
	// spread over them.
	Loops int
	// IOUring has each loop send the answers of one round, and (Inline)
	// read the requests of one round, through an io_uring in one system
	// call (batch.go), where the kernel allows it; elsewhere they are
	// written and read one by one, as without it.
	IOUring bool
}

// New starts a Lot.
func New(o Options) (*Lot, error) {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.FirstTimeout <= 0 {
		o.FirstTimeout = o.IdleTimeout
	}
	l := &Lot{idleTimeout: o.IdleTimeout, firstTimeout: o.FirstTimeout, server: o.Server, inline: o.Inline, ioUring: o.IOUring, stop: make(chan struct{})}
	l.qcond = sync.NewCond(&l.qmu)
	for range max(o.Loops, 1) {
		lp, err := newLoop(l)
		if err != nil {
			for _, lp := range l.loops {
				lp.closeFDs()
			}
			return nil, err
		}
		l.loops = append(l.loops, lp)
	}
	for _, lp := range l.loops {
		l.wg.Add(1)
		go lp.run()
	}
	l.wg.Add(1)
	go l.sweep()
	for range max(o.Workers, 1) {
		l.wg.Add(1)
		go l.work()
	}
	return l, nil
}

// SetServer sets the native Server (before any connection is parked).
func (l *Lot) SetServer(s Server) { l.server = s }

// IOUring reports whether the loops have their io_uring, and if one was
// asked for and is not there, why.
func (l *Lot) IOUring() (bool, error) {
	for _, lp := range l.loops {
		if lp.ring == nil {
			return false, l.ringErr
		}
	}
	return len(l.loops) > 0, nil
}

// Parked is the number of held polls parked now (idle kept-alive
// connections are not counted).
func (l *Lot) Parked() int { return int(l.held.Load()) }

// Task is work run off the caller's goroutine (see Spot.Submit). A
// pointer to the caller's own value satisfies it without an allocation,
// where a method value (a closure) would cost one per held poll.
type Task interface{ Run() }

// runTask runs t; a panic in it is logged and goes no further, so that a
// fault in one poll's answer cannot stop the loop or the process.
func runTask(t Task) {
	defer func() {
		if v := recover(); v != nil {
			slog.Error("panic in a parked connection's task", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	t.Run()
}

// TaskFunc is a func as a Task.
type TaskFunc func()

// Run calls f.
func (f TaskFunc) Run() { f() }

// Submit runs f off the caller's goroutine: on s's loop when the Lot is
// Inline, else on a worker. After Close, f is dropped.
func (s *Spot) Submit(f Task) {
	if s.lot.inline {
		s.lp.post(f)
		return
	}
	s.lot.submitWork(f)
}

func (l *Lot) submitWork(f Task) {
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
		runTask(f)
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
	for _, lp := range l.loops {
		lp.mu.Lock()
		for _, s := range lp.spots {
			if s.state.Load() == spotIdle && s.until.Load() < cutoff {
				old = append(old, s)
			}
		}
		lp.mu.Unlock()
	}
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
		for _, lp := range l.loops {
			lp.stopLoop()
		}
		close(l.stop)
		l.wg.Wait()
		var rest []*Spot
		for _, lp := range l.loops {
			lp.mu.Lock()
			for _, s := range lp.spots {
				rest = append(rest, s)
			}
			lp.mu.Unlock()
		}
		for _, s := range rest {
			if s.state.CompareAndSwap(spotHeld, spotGone) {
				l.held.Add(-1)
			}
			l.drop(s)
		}
		for _, lp := range l.loops {
			lp.mu.Lock()
			lp.closeFDs()
			lp.epfd = -1
			lp.mu.Unlock()
		}
	})
}
