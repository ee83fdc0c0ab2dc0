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

// Lot is the set of parked connections, the hang-up watcher and the
// workers that answer them.
type Lot struct {
	epfd   int
	pipeR  int
	pipeW  int
	mu     sync.Mutex
	spots  map[uint64]*Spot
	nextID uint64
	parked atomic.Int64

	qmu    sync.Mutex
	qcond  *sync.Cond
	queue  []func()
	closed bool

	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New starts a Lot with the given number of workers (at least 1).
func New(workers int) (*Lot, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	l := &Lot{epfd: epfd, pipeR: p[0], pipeW: p[1], spots: make(map[uint64]*Spot), nextID: 1}
	l.qcond = sync.NewCond(&l.qmu)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: 0}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.pipeR, &ev); err != nil {
		l.closeFDs()
		return nil, err
	}
	l.wg.Add(1)
	go l.watch()
	for range max(workers, 1) {
		l.wg.Add(1)
		go l.work()
	}
	return l, nil
}

func (l *Lot) closeFDs() {
	syscall.Close(l.epfd)
	syscall.Close(l.pipeR)
	syscall.Close(l.pipeW)
}

// Parked is the number of connections parked now.
func (l *Lot) Parked() int { return int(l.parked.Load()) }

// Submit runs f on a worker. After Close, f is dropped.
func (l *Lot) Submit(f func()) {
	l.qmu.Lock()
	if l.closed {
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
		for len(l.queue) == 0 && !l.closed {
			l.qcond.Wait()
		}
		if len(l.queue) == 0 && l.closed {
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

// watch waits for hang-ups of parked connections.
func (l *Lot) watch() {
	defer l.wg.Done()
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(l.epfd, events, -1)
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
			if s != nil && s.state.CompareAndSwap(spotParked, spotGone) {
				l.unregister(s)
				s.conn.Close()
				if s.gone != nil {
					l.Submit(s.gone)
				}
			}
		}
	}
}

// Drain waits until no connection is parked or the deadline passes.
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
// and closes every connection still parked. Safe to call twice.
func (l *Lot) Close() {
	l.closeOnce.Do(func() {
		l.qmu.Lock()
		l.closed = true
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
			if s.state.CompareAndSwap(spotParked, spotGone) {
				l.unregister(s)
				s.conn.Close()
			}
		}
		l.closeFDs()
	})
}

func (l *Lot) unregister(s *Spot) {
	l.mu.Lock()
	if _, ok := l.spots[s.id]; ok {
		delete(l.spots, s.id)
		l.parked.Add(-1)
		_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, s.fd, nil)
	}
	l.mu.Unlock()
}

// Park takes over c, a connection hijacked from net/http that came from
// one of this Lot's listeners. buffered is what net/http had read beyond
// the request (pipelined bytes): it is replayed when the connection is
// handed back. gone is run (once, on a worker) if the client hangs up
// before Answer.
func (l *Lot) Park(c net.Conn, buffered []byte, gone func()) (*Spot, error) {
	lc, ok := c.(*conn)
	if !ok {
		return nil, ErrNotParkable
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
	if len(buffered) > 0 {
		lc.prefix = append([]byte(nil), buffered...)
	}
	l.mu.Lock()
	s.id = l.nextID
	l.nextID++
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR | syscall.EPOLLONESHOT, Fd: int32(uint32(s.id)), Pad: int32(uint32(s.id >> 32))}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.mu.Unlock()
		return nil, err
	}
	l.spots[s.id] = s
	l.parked.Add(1)
	l.mu.Unlock()
	return s, nil
}

const (
	spotParked int32 = iota
	spotAnswering
	spotGone
)

// Spot is one parked connection.
type Spot struct {
	lot   *Lot
	conn  *conn
	fd    int
	id    uint64
	gone  func()
	state atomic.Int32
}

// writeWait bounds how long a worker waits on a slow client before the
// rest of the write moves to a goroutine of its own.
const (
	writeWait    = 20 * time.Millisecond
	writeTimeout = 10 * time.Second
)

// Answer writes resp and then hands the connection back to its listener
// (keepAlive) or closes it. It returns false when the client had already
// gone (nothing was written).
func (s *Spot) Answer(resp []byte, keepAlive bool) bool {
	if !s.state.CompareAndSwap(spotParked, spotAnswering) {
		return false
	}
	s.lot.unregister(s)
	c := s.conn
	_ = c.SetWriteDeadline(time.Now().Add(writeWait))
	n, err := c.Write(resp)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			go finishWrite(c, resp[n:], keepAlive)
			return true
		}
		c.Close()
		return true
	}
	_ = c.SetWriteDeadline(time.Time{})
	handBack(c, keepAlive)
	return true
}

func finishWrite(c *conn, rest []byte, keepAlive bool) {
	_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.Write(rest); err != nil {
		c.Close()
		return
	}
	_ = c.SetWriteDeadline(time.Time{})
	handBack(c, keepAlive)
}

func handBack(c *conn, keepAlive bool) {
	if !keepAlive || !c.home.inject(c) {
		c.Close()
	}
}
