//go:build linux

package parking

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// The event loop. Every connection the Lot holds is registered once,
// edge-triggered, for input and hang-ups; an event only sets the Spot's
// flags (readable, hung up) and pokes it, and the Spot's state says what
// the flags mean now: a hang-up of a held poll ends it, input on an idle
// connection is its next request, anything else waits until the state
// changes (every move into held or idle pokes again). No descriptor is
// re-armed per request.

// evWatch is what a connection is registered for, edge-triggered.
const evWatch = uint32(unix.EPOLLIN|unix.EPOLLRDHUP) | unix.EPOLLET

// evloop is one event loop: an epoll set, the connections registered in
// it, and the work posted to it.
type evloop struct {
	lot   *Lot
	epfd  int
	epf   *os.File // epfd, waited on through the runtime's poller
	pipeR int
	pipeW int

	// spotsMu guards spots and nextID (the connections registered here,
	// by id) and epfd once Close sets it to -1.
	spotsMu sync.Mutex
	spots   map[uint64]*Spot
	nextID  uint64

	// Sends and reads in batches (batch.go): ring is set once, at the start.
	ring *uring
	// sendsMu guards batching and sends: the answers queued in this
	// round, by whichever goroutine answers.
	sendsMu  sync.Mutex
	batching bool
	sends    []pendingSend
	toRead   []*Spot  // the loop's own: reads queued in this look at the events
	rbufs    [][]byte // the loop's own: their buffers

	// tasksMu guards tasks, closing, sleeping and stopped: the work posted
	// to the loop, and whether the loop must be woken to see it.
	tasksMu  sync.Mutex
	tasks    []Task
	closing  []*conn // hung up, closed when the loop has nothing else to do
	sleeping bool    // the loop waits in the poller: post must wake it
	stopped  bool
}

// newLoop returns a loop of l with its epoll set and wake-up pipe, and
// its io_uring when l asks for one and the kernel allows it.
func newLoop(l *Lot) (*evloop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		unix.Close(epfd)
		return nil, err
	}
	lp := &evloop{lot: l, epfd: epfd, pipeR: p[0], pipeW: p[1], spots: make(map[uint64]*Spot), nextID: 1}
	ev := unix.EpollEvent{Events: unix.EPOLLIN} // id 0: the pipe
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, lp.pipeR, &ev); err != nil {
		lp.closeFDs()
		return nil, err
	}
	// The loop never blocks in epoll_wait: it waits for the epoll
	// descriptor to become readable in the runtime's poller, so no thread
	// is tied up and the scheduler is not disturbed by a blocking call.
	if err := unix.SetNonblock(epfd, true); err != nil {
		lp.closeFDs()
		return nil, err
	}
	lp.epf = os.NewFile(uintptr(epfd), "parking-epoll")
	if l.ioUring {
		if lp.ring, err = newUring(); err != nil {
			l.ringErr = err
		}
	}
	return lp, nil
}

// closeFDs closes the loop's ring, epoll set and pipe.
func (lp *evloop) closeFDs() {
	if lp.ring != nil {
		lp.ring.close()
	}
	if lp.epf != nil {
		lp.epf.Close()
	} else {
		unix.Close(lp.epfd)
	}
	unix.Close(lp.pipeR)
	unix.Close(lp.pipeW)
}

// post queues f for the loop and wakes the loop if it waits.
func (lp *evloop) post(f Task) {
	lp.tasksMu.Lock()
	if lp.stopped {
		lp.tasksMu.Unlock()
		return
	}
	lp.tasks = append(lp.tasks, f)
	wake := lp.sleeping
	lp.sleeping = false
	lp.tasksMu.Unlock()
	if wake {
		rawWrite(lp.pipeW, []byte{1})
	}
}

// stopLoop makes run return after the work queued so far.
func (lp *evloop) stopLoop() {
	lp.tasksMu.Lock()
	lp.stopped = true
	lp.tasksMu.Unlock()
	rawWrite(lp.pipeW, []byte{1})
}

// run waits for events and for work posted to the loop, and runs both.
func (lp *evloop) run() {
	l := lp.lot
	defer l.wg.Done()
	events := make([]unix.EpollEvent, 256)
	var tasks []Task
	rc, err := lp.epf.SyscallConn()
	if err != nil {
		return
	}
	for {
		// All queued tasks run before the next look at the events (a
		// cap of 64 between two looks made the release of 10,000 polls
		// and the fan-out's p99 slower, as measured in 645bf94).
		lp.tasksMu.Lock()
		tasks, lp.tasks = lp.tasks, tasks[:0]
		stopped := lp.stopped
		lp.tasksMu.Unlock()
		lp.beginBatch()
		for i, f := range tasks {
			l.runTask(f)
			tasks[i] = nil
		}
		lp.flushSends()
		if stopped {
			lp.closeHungUp()
			return
		}
		// With no work queued, the loop looks for events as it goes to
		// sleep: the poller's first try is that look (one epoll_wait when
		// there are events, none more before sleeping when there are not).
		// Connections whose clients hung up are closed first, when no
		// event waits.
		lp.tasksMu.Lock()
		idle := len(lp.tasks) == 0 && !lp.stopped
		pendingClose := idle && len(lp.closing) > 0
		lp.sleeping = idle && !pendingClose
		lp.tasksMu.Unlock()
		n := 0
		if pendingClose {
			if n, _ = pollNow(lp.epfd, events); n <= 0 {
				lp.closeHungUp()
				continue
			}
		} else if idle {
			_ = rc.Read(func(uintptr) bool {
				n, _ = pollNow(lp.epfd, events)
				return n > 0
			})
			lp.tasksMu.Lock()
			lp.sleeping = false
			lp.tasksMu.Unlock()
		} else {
			n, _ = pollNow(lp.epfd, events)
		}
		lp.beginBatch()
		for i := 0; i < n; i++ {
			id := uint64(uint32(events[i].Fd)) | uint64(uint32(events[i].Pad))<<32
			if id == 0 {
				lp.drainPipe()
				continue
			}
			lp.spotsMu.Lock()
			s := lp.spots[id]
			lp.spotsMu.Unlock()
			if s != nil {
				l.event(s, events[i].Events)
			}
		}
		lp.readQueued()
		lp.flushSends()
	}
}

// drainPipe empties the wake-up pipe.
func (lp *evloop) drainPipe() {
	var b [64]byte
	for {
		if n, err := rawRead(lp.pipeR, b[:]); n <= 0 || err != nil {
			return
		}
	}
}

// event records what epoll said of s, then acts on it.
func (l *Lot) event(s *Spot, ev uint32) {
	if ev&(unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		s.hup.Store(true)
	}
	if ev&unix.EPOLLRDHUP != 0 {
		s.rdhup.Store(true)
	}
	if ev&unix.EPOLLIN != 0 {
		s.readable.Store(true)
	}
	l.poke(s, true)
}

// poke acts on s's flags in its current state. onLoop: the caller is the
// loop, which may serve the next request in place (Inline).
func (l *Lot) poke(s *Spot, onLoop bool) {
	switch s.state.Load() {
	case spotHeld:
		// A held poll's client that half-closes or resets has left.
		if (s.hup.Load() || s.rdhup.Load()) && s.state.CompareAndSwap(spotHeld, spotGone) {
			l.release()
			l.drop(s)
			if s.gone != nil {
				s.Submit(s.gone)
			}
		}
		// Input while held (a pipelined request) waits for the answer.
	case spotIdle:
		switch {
		case s.hup.Load():
			if s.state.CompareAndSwap(spotIdle, spotGone) {
				l.dropLater(s)
			}
		case s.readable.Load() || s.buffered.Load():
			if s.state.CompareAndSwap(spotIdle, spotServing) {
				if onLoop && l.inline {
					if !s.lp.queueRead(s) {
						l.serveNext(s)
					}
				} else {
					s.Submit(TaskFunc(func() { l.serveNext(s) }))
				}
			}
		case s.rdhup.Load():
			// Closed by the client with nothing left to read.
			if s.state.CompareAndSwap(spotIdle, spotGone) {
				l.dropLater(s)
			}
		}
	}
}

// register adds s to one loop's epoll set, once for its whole stay.
func (l *Lot) register(s *Spot) error {
	lp := l.loops[int(l.next.Add(1))%len(l.loops)]
	lp.spotsMu.Lock()
	defer lp.spotsMu.Unlock()
	if lp.epfd < 0 || l.closed.Load() {
		return ErrNotParkable
	}
	s.lp = lp
	s.id = lp.nextID
	lp.nextID++
	lp.spots[s.id] = s
	s.conn.spot = s
	ev := unix.EpollEvent{Events: evWatch, Fd: int32(uint32(s.id)), Pad: int32(uint32(s.id >> 32))}
	if err := unix.EpollCtl(lp.epfd, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		delete(lp.spots, s.id)
		s.conn.spot = nil
		return err
	}
	return nil
}

// unregister removes s from its loop's epoll set and forgets it.
func (l *Lot) unregister(s *Spot) { l.forget(s, true) }

// forget forgets s; del: remove it from the epoll set too (not needed when
// its descriptor is closed next: a detached connection's descriptor is
// the only one of its file, and closing it leaves the set).
func (l *Lot) forget(s *Spot, del bool) {
	lp := s.lp
	lp.spotsMu.Lock()
	if _, ok := lp.spots[s.id]; ok {
		delete(lp.spots, s.id)
		if del && lp.epfd >= 0 {
			_ = unix.EpollCtl(lp.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
		}
	}
	s.conn.spot = nil
	lp.spotsMu.Unlock()
}

// closeBatch is how many connections whose clients hung up a loop keeps
// before closing them even while busy.
const closeBatch = 256

// dropLater forgets s now and closes its connection when its loop has no
// event waiting (or closeBatch are waiting): the client hung up, and the
// close (on loopback, the FIN and ACK of both ends run on this core)
// should not go before answers that other clients still wait for.
func (l *Lot) dropLater(s *Spot) {
	l.letGo(s)
	lp := s.lp
	lp.tasksMu.Lock()
	if lp.stopped || lp.sleeping {
		// Nothing to go before (the loop waits for events), or no loop
		// to close it later: close it now. (A worker, not the loop, may
		// be the caller: a loop asleep would not see the list grow.)
		lp.tasksMu.Unlock()
		s.conn.Close()
		return
	}
	lp.closing = append(lp.closing, s.conn)
	full := len(lp.closing) >= closeBatch
	lp.tasksMu.Unlock()
	if full {
		lp.closeHungUp()
	}
}

// closeHungUp closes the connections dropLater kept.
func (lp *evloop) closeHungUp() {
	lp.tasksMu.Lock()
	cs := lp.closing
	lp.closing = nil
	lp.tasksMu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// drop forgets s and closes its connection. An event for s still in the
// loop's batch finds no spot under its id, and is ignored.
func (l *Lot) drop(s *Spot) {
	l.letGo(s)
	s.conn.Close()
}

// letGo marks s gone and forgets it, ahead of closing its connection.
func (l *Lot) letGo(s *Spot) {
	s.state.Store(spotGone)
	l.forget(s, !s.conn.isDetached())
}
