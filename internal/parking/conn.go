package parking

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// conn is a connection from a Lot's listener. prefix holds bytes read
// ahead before it was parked; they are read first.
//
// While the Lot holds it, the connection is detached from the Go runtime:
// the Lot works on its own duplicate of the descriptor and the original
// is closed, which takes it out of the runtime's poller. Otherwise every
// request and every acknowledgement on a parked connection would also
// wake the runtime's poller, for nothing. Handed back to net/http, it is
// attached again as a fresh net.Conn.
type conn struct {
	net.Conn // the accepted connection (closed inside while detached), or the one attached again
	home     *listener
	prefix   []byte
	spot     *Spot  // while the Lot knows it
	remote   string // RemoteAddr().String(), once asked for

	mu       sync.Mutex
	detached bool
	raw      int      // the Lot's descriptor while detached
	acct     net.Conn // the accepted connection, closed last (connection limits count on it)
}

// errDetached: the connection is held by the Lot, which does its I/O.
var errDetached = errors.New("parking: connection is detached")

// RemoteAddrString is RemoteAddr().String(), formatted once.
func (c *conn) RemoteAddrString() string {
	if c.remote == "" {
		if a := c.RemoteAddr(); a != nil {
			c.remote = a.String()
		}
	}
	return c.remote
}

func (c *conn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	if c.isDetached() {
		return 0, errDetached
	}
	return c.Conn.Read(b)
}

func (c *conn) Write(b []byte) (int, error) {
	if c.isDetached() {
		return 0, errDetached
	}
	return c.Conn.Write(b)
}

// isDetached: the connection's only descriptor is its own (detach).
func (c *conn) isDetached() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.detached
}

// detach gives the Lot its own descriptor and closes the original (which
// leaves the runtime's poller; the socket stays open).
func (c *conn) detach() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.detached {
		return c.raw, nil
	}
	fd := connFD(c.Conn)
	if fd < 0 {
		return -1, ErrNotParkable
	}
	nfd, err := dupCloexec(fd)
	if err != nil {
		return -1, err
	}
	if d, ok := c.Conn.(interface{ CloseFD() error }); ok {
		_ = d.CloseFD() // keeps its own accounting for Close
	} else {
		_ = c.Conn.Close()
	}
	if c.acct == nil {
		c.acct = c.Conn
	}
	c.detached, c.raw = true, nfd
	return nfd, nil
}

// attach makes the connection a net.Conn again, for net/http.
func (c *conn) attach() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.detached {
		return nil
	}
	f := os.NewFile(uintptr(c.raw), "")
	nc, err := net.FileConn(f) // a duplicate, in the runtime's poller
	f.Close()
	c.detached, c.raw = false, -1
	if err != nil {
		return err
	}
	c.Conn = nc
	return nil
}

// Close closes the Lot's descriptor, the attached connection if any, and
// the accepted one.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.detached {
		rawClose(c.raw)
		c.detached, c.raw = false, -1
	}
	acct := c.acct
	c.acct = nil
	c.mu.Unlock()
	err := c.Conn.Close()
	if acct != nil && acct != c.Conn {
		acct.Close()
	} else if acct != nil {
		err = nil // closed inside when detached: this Close only counts it
	}
	return err
}

func connFD(c net.Conn) int {
	fd := -1
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			_ = rc.Control(func(f uintptr) { fd = int(f) })
		}
	}
	return fd
}

func dupCloexec(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// dupFile is a duplicate of fd as a file in the runtime's poller.
func dupFile(fd int) (*os.File, error) {
	nfd, err := dupCloexec(fd)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), ""), nil
}

// writeSlow finishes writing b to a client too slow to take it at once,
// waiting in the runtime's poller on f (a duplicate descriptor) with a
// deadline, and closes f.
func writeSlow(f *os.File, b []byte, timeout time.Duration) error {
	defer f.Close()
	if err := f.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := f.Write(b)
	return err
}

// rawWrite and rawRead are write(2) and read(2) on a non-blocking socket,
// which never wait: made without telling the scheduler that a system call
// may block (RawSyscall), so that the runtime does not hand the thread's
// processor to another thread while they run.
func rawWrite(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

func rawRead(fd int, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// rawClose is close(2) made as rawWrite is: closing a TCP socket never
// waits (no lingering is set), but on loopback it runs the whole
// teardown, both ends, in the call (tens of microseconds): as an ordinary
// system call, the runtime's monitor thread would see the loop's
// processor in a system call that long, hand it to another thread, and
// wake one, for every connection closed.
func rawClose(fd int) {
	_, _, _ = syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)
}

// pollNow is epoll_wait(2) with a zero timeout, which never waits (see
// rawWrite).
func pollNow(epfd int, events []syscall.EpollEvent) (int, error) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_WAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}
