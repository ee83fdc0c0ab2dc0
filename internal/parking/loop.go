package parking

import "syscall"

// The event loop. Every connection the Lot holds is registered once,
// edge-triggered, for input and hang-ups; an event only sets the Spot's
// flags (readable, hung up) and pokes it, and the Spot's state says what
// the flags mean now: a hang-up of a held poll ends it, input on an idle
// connection is its next request, anything else waits until the state
// changes (Answer and Park poke again). No descriptor is re-armed per
// request.

const evWatch = uint32(syscall.EPOLLIN|syscall.EPOLLRDHUP) | 1<<31 // EPOLLET

// loop waits for events and for work posted to it, and runs both.
func (l *Lot) loop() {
	defer l.wg.Done()
	events := make([]syscall.EpollEvent, 256)
	var tasks []func()
	rc, err := l.epf.SyscallConn()
	if err != nil {
		return
	}
	for {
		l.lmu.Lock()
		tasks, l.lqueue = l.lqueue, tasks[:0]
		stopped := l.lstopped
		l.lmu.Unlock()
		for i, f := range tasks {
			f()
			tasks[i] = nil
		}
		if stopped {
			return
		}
		n, _ := syscall.EpollWait(l.epfd, events, 0)
		if n <= 0 && len(tasks) == 0 {
			l.lmu.Lock()
			idle := len(l.lqueue) == 0 && !l.lstopped
			l.sleeping = idle
			l.lmu.Unlock()
			if idle {
				_ = rc.Read(func(uintptr) bool {
					n, _ = syscall.EpollWait(l.epfd, events, 0)
					return n > 0
				})
				l.lmu.Lock()
				l.sleeping = false
				l.lmu.Unlock()
			}
		}
		for i := 0; i < n; i++ {
			id := uint64(uint32(events[i].Fd)) | uint64(uint32(events[i].Pad))<<32
			if id == 0 {
				l.drainPipe()
				continue
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

func (l *Lot) drainPipe() {
	var b [64]byte
	for {
		if n, err := syscall.Read(l.pipeR, b[:]); n <= 0 || err != nil {
			return
		}
	}
}

// event records what epoll said of s, then acts on it.
func (l *Lot) event(s *Spot, ev uint32) {
	if ev&(syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
		s.hup.Store(true)
	}
	if ev&syscall.EPOLLRDHUP != 0 {
		s.rdhup.Store(true)
	}
	if ev&syscall.EPOLLIN != 0 {
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
			l.held.Add(-1)
			l.drop(s)
			if s.gone != nil {
				l.Submit(s.gone)
			}
		}
		// Input while held (a pipelined request) waits for the answer.
	case spotIdle:
		switch {
		case s.hup.Load():
			if s.state.CompareAndSwap(spotIdle, spotGone) {
				l.drop(s)
			}
		case s.readable.Load() || s.buffered.Load():
			if s.state.CompareAndSwap(spotIdle, spotServing) {
				if onLoop && l.inline {
					l.serveNext(s)
				} else {
					l.Submit(func() { l.serveNext(s) })
				}
			}
		case s.rdhup.Load():
			// Closed by the client with nothing left to read.
			if s.state.CompareAndSwap(spotIdle, spotGone) {
				l.drop(s)
			}
		}
	}
}

// register adds s to the epoll set, once for its whole stay.
func (l *Lot) register(s *Spot) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.epfd < 0 || l.closed.Load() {
		return ErrNotParkable
	}
	s.id = l.nextID
	l.nextID++
	l.spots[s.id] = s
	s.conn.spot = s
	ev := syscall.EpollEvent{Events: evWatch, Fd: int32(uint32(s.id)), Pad: int32(uint32(s.id >> 32))}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		delete(l.spots, s.id)
		s.conn.spot = nil
		return err
	}
	return nil
}

// unregister removes s from the epoll set and forgets it.
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

// drop forgets s and closes its connection.
func (l *Lot) drop(s *Spot) {
	s.state.Store(spotGone)
	l.unregister(s)
	s.conn.Close()
}
