//go:build linux

package parking

import (
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Lot is the set of parked and idle connections, the event loops that
// watch them and the workers that run blocking work.
type Lot struct {
	loops  []*evloop
	next   atomic.Uint32 // round robin over loops
	held   atomic.Int64  // held polls parked now (Parked)
	closed atomic.Bool

	idleTimeout  time.Duration
	firstTimeout time.Duration
	server       Server
	inline       bool
	ioUring      bool
	ringErr      error // why a loop has no ring, when one was asked for
	log          *slog.Logger

	// workMu guards the workers' queue (work) and workStopped; workCond
	// is signalled when either changes.
	workMu      sync.Mutex
	workCond    *sync.Cond
	work        []Task
	workStopped bool

	// drainMu guards drained, the channel a Drain waits on; draining is
	// set once a Drain has begun, so that release takes drainMu only then.
	drainMu  sync.Mutex
	drained  chan struct{} // closed when held reaches 0
	draining atomic.Bool

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New starts a Lot.
func New(o Options) (*Lot, error) {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.FirstTimeout <= 0 {
		o.FirstTimeout = o.IdleTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	l := &Lot{idleTimeout: o.IdleTimeout, firstTimeout: o.FirstTimeout, server: o.Server, inline: o.Inline, ioUring: o.IOUring, log: o.Logger, stop: make(chan struct{})}
	l.workCond = sync.NewCond(&l.workMu)
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
		go l.runWorker()
	}
	return l, nil
}

// Inline reports whether the Server and the Tasks run on the event loops
// (Options.Inline).
func (l *Lot) Inline() bool { return l.inline }

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

// Parked returns the number of held polls parked now (idle kept-alive
// connections are not counted).
func (l *Lot) Parked() int { return int(l.held.Load()) }

// release counts one held poll less (answered, gone or closed), and ends
// a Drain that waits when it was the last.
func (l *Lot) release() {
	if l.held.Add(-1) != 0 || !l.draining.Load() {
		return
	}
	l.drainMu.Lock()
	if l.drained != nil && l.held.Load() == 0 {
		close(l.drained)
		l.drained = nil
	}
	l.drainMu.Unlock()
}

// runTask runs t; a panic in it is logged and goes no further, so that a
// fault in one poll's answer cannot stop the loop or the process.
func (l *Lot) runTask(t Task) {
	defer func() {
		if v := recover(); v != nil {
			l.logPanic("a parked connection's task", v)
		}
	}()
	t.Run()
}

// logPanic logs v, recovered from what, with the stack.
func (l *Lot) logPanic(what string, v any) {
	l.log.Error("panic in "+what, "panic", v, "stack", string(debug.Stack()))
}

// Submit runs f off the caller's goroutine: on s's loop when the Lot is
// Inline, else on a worker. After Close, f is dropped.
func (s *Spot) Submit(f Task) {
	if s.lot.inline {
		s.lp.post(f)
		return
	}
	s.lot.submitWork(f)
}

// Offload runs f on a worker, Inline or not: work a Task found it must
// wait for (the network, say), which may not run on an event loop. After
// Close, f is dropped.
func (s *Spot) Offload(f Task) { s.lot.submitWork(f) }

// submitWork queues f for a worker.
func (l *Lot) submitWork(f Task) {
	l.workMu.Lock()
	if l.workStopped {
		l.workMu.Unlock()
		return
	}
	l.work = append(l.work, f)
	l.workMu.Unlock()
	l.workCond.Signal()
}

// runWorker is one worker: it runs queued Tasks until Close, and the
// ones queued before Close.
func (l *Lot) runWorker() {
	defer l.wg.Done()
	for {
		l.workMu.Lock()
		for len(l.work) == 0 && !l.workStopped {
			l.workCond.Wait()
		}
		if len(l.work) == 0 && l.workStopped {
			l.workMu.Unlock()
			return
		}
		f := l.work[0]
		l.work[0] = nil
		l.work = l.work[1:]
		if len(l.work) == 0 {
			l.work = nil // let a large backlog's array go
		}
		l.workMu.Unlock()
		l.runTask(f)
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
		lp.spotsMu.Lock()
		for _, s := range lp.spots {
			if s.state.Load() == spotIdle && s.until.Load() < cutoff {
				old = append(old, s)
			}
		}
		lp.spotsMu.Unlock()
	}
	for _, s := range old {
		if s.state.CompareAndSwap(spotIdle, spotGone) {
			l.drop(s)
		}
	}
}

// Drain waits until no held poll is parked or the deadline passes, and
// reports whether none is.
func (l *Lot) Drain(deadline time.Time) bool {
	l.draining.Store(true) // before the look at held: see release
	l.drainMu.Lock()
	if l.held.Load() == 0 {
		l.drainMu.Unlock()
		return true
	}
	if l.drained == nil {
		l.drained = make(chan struct{})
	}
	drained := l.drained
	l.drainMu.Unlock()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-drained:
		return true
	case <-t.C:
		return l.held.Load() == 0
	}
}

// Close stops the loops and the workers (after the queued work has run)
// and closes every connection still in the Lot. Safe to call twice.
func (l *Lot) Close() {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		l.workMu.Lock()
		l.workStopped = true
		l.workMu.Unlock()
		l.workCond.Broadcast()
		for _, lp := range l.loops {
			lp.stopLoop()
		}
		close(l.stop)
		l.wg.Wait()
		var rest []*Spot
		for _, lp := range l.loops {
			lp.spotsMu.Lock()
			for _, s := range lp.spots {
				rest = append(rest, s)
			}
			lp.spotsMu.Unlock()
		}
		for _, s := range rest {
			if s.state.CompareAndSwap(spotHeld, spotGone) {
				l.release()
			}
			l.drop(s)
		}
		for _, lp := range l.loops {
			lp.spotsMu.Lock()
			lp.closeFDs()
			lp.epfd = -1
			lp.spotsMu.Unlock()
		}
	})
}
