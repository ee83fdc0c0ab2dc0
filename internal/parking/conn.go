//go:build linux

package parking

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
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
	onLoop   bool   // the Server is serving its request on an event loop (MayBlock)

	// fdMu guards detached, raw and acct: which descriptor is the
	// connection's now.
	fdMu     sync.Mutex
	detached bool
	raw      int      // the Lot's descriptor while detached
	acct     net.Conn // the accepted connection, closed last (connection limits count on it)
}

// MayBlock reports whether the request being served on c may wait (for
// the network, say): false only while an Inline Lot's event loop serves
// it, where a Server answers Outcome.Offload instead of waiting.
func MayBlock(c net.Conn) bool {
	pc, ok := c.(*conn)
	return !ok || !pc.onLoop
}

// errDetached is what Read and Write return while the Lot holds the
// connection and does its I/O.
var errDetached = errors.New("parking: connection is detached")

// RemoteAddrString returns RemoteAddr().String(), formatted once.
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

// isDetached reports whether the connection's only descriptor is the
// Lot's own (detach).
func (c *conn) isDetached() bool {
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	return c.detached
}

// detach gives the Lot its own descriptor and closes the original (which
// leaves the runtime's poller; the socket stays open).
func (c *conn) detach() (int, error) {
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
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
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
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
	c.fdMu.Lock()
	if c.detached {
		rawClose(c.raw)
		c.detached, c.raw = false, -1
	}
	acct := c.acct
	c.acct = nil
	c.fdMu.Unlock()
	err := c.Conn.Close()
	if acct != nil && acct != c.Conn {
		acct.Close()
	} else if acct != nil {
		err = nil // closed inside when detached: this Close only counts it
	}
	return err
}

// connFD returns c's descriptor, or -1 when it has none to give.
func connFD(c net.Conn) int {
	fd := -1
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			_ = rc.Control(func(f uintptr) { fd = int(f) })
		}
	}
	return fd
}

// dupCloexec returns a duplicate of fd, closed on exec.
func dupCloexec(fd int) (int, error) {
	return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
}

// dupFile returns a duplicate of fd as a file in the runtime's poller.
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

// rawWrite and rawRead make write(2) and read(2) on a non-blocking
// socket, which never wait, without telling the scheduler that a system
// call may block (RawSyscall), so that the runtime does not hand the
// thread's processor to another thread while they run.
func rawWrite(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

func rawRead(fd int, b []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// rawClose makes close(2) as rawWrite does: closing a TCP socket never
// waits (no lingering is set), but on loopback it runs the whole
// teardown, both ends, in the call (tens of microseconds). As an
// ordinary system call, the runtime's monitor thread would see the
// loop's processor in a system call that long, hand it to another
// thread, and wake one, for every connection closed.
func rawClose(fd int) {
	_, _, _ = unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// pollNow makes epoll_pwait(2) with a zero timeout and no signal mask,
// which never waits (see rawWrite). It is epoll_pwait, not epoll_wait,
// because arm64 has only the former.
func pollNow(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}
