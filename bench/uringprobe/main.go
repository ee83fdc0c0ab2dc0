//go:build linux && amd64

// Command uringprobe measures what one io_uring submission for many
// answers would save over a write(2) each: it opens 1,000 loopback TCP
// connections and sends a 220-byte answer on every one, 300 times, either
// with a write each (`uringprobe write`, what the event loops do) or with
// one io_uring_enter for all 1,000 sends (`uringprobe uring`), and prints
// the sending thread's CPU per send. The loopback delivery into the
// receiving socket runs in the sender's system call either way, as it
// does for the server. A probe for docs/PERFORMANCE.md ("After set L"),
// not part of the server.
//
//	go run ./bench/uringprobe write; go run ./bench/uringprobe uring
package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

type sqOff struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}
type cqOff struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sq                                                                     sqOff
	cq                                                                     cqOff
}
type sqe struct {
	opcode, flags         uint8
	ioprio                uint16
	fd                    int32
	off, addr             uint64
	len, opFlags          uint32
	userData              uint64
	bufIndex, personality uint16
	spliceFdIn            int32
	addr3, pad            uint64
}
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

type ring struct {
	fd                     int
	sqHead, sqTail, sqMask *uint32
	sqArray                []uint32
	sqes                   []sqe
	cqHead, cqTail, cqMask *uint32
	cqes                   []cqe
}

func newRing(entries uint32) *ring {
	var p params
	fd, _, e := syscall.Syscall(425, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		panic(e)
	}
	r := &ring{fd: int(fd)}
	sqSize := p.sq.array + p.sqEntries*4
	cqSize := p.cq.cqes + p.cqEntries*16
	sz := max(sqSize, cqSize)
	m, err := syscall.Mmap(r.fd, 0, int(sz), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		panic(err)
	}
	base := unsafe.Pointer(&m[0])
	r.sqHead = (*uint32)(unsafe.Add(base, p.sq.head))
	r.sqTail = (*uint32)(unsafe.Add(base, p.sq.tail))
	r.sqMask = (*uint32)(unsafe.Add(base, p.sq.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(base, p.sq.array)), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Add(base, p.cq.head))
	r.cqTail = (*uint32)(unsafe.Add(base, p.cq.tail))
	r.cqMask = (*uint32)(unsafe.Add(base, p.cq.ringMask))
	r.cqes = unsafe.Slice((*cqe)(unsafe.Add(base, p.cq.cqes)), p.cqEntries)
	sm, err := syscall.Mmap(r.fd, 0x10000000, int(p.sqEntries)*64, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		panic(err)
	}
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&sm[0])), p.sqEntries)
	return r
}

func (r *ring) sendAll(fds []int, msg []byte) {
	tail := atomic.LoadUint32(r.sqTail)
	mask := *r.sqMask
	for i, fd := range fds {
		idx := (tail + uint32(i)) & mask
		r.sqes[idx] = sqe{opcode: 26, fd: int32(fd), addr: uint64(uintptr(unsafe.Pointer(&msg[0]))), len: uint32(len(msg)), opFlags: syscall.MSG_DONTWAIT, userData: uint64(i)}
		r.sqArray[idx] = idx
	}
	atomic.StoreUint32(r.sqTail, tail+uint32(len(fds)))
	n := len(fds)
	_, _, e := syscall.RawSyscall6(426, uintptr(r.fd), uintptr(n), uintptr(n), 1, 0, 0)
	if e != 0 {
		panic(e)
	}
	head := atomic.LoadUint32(r.cqHead)
	ctail := atomic.LoadUint32(r.cqTail)
	for ; head != ctail; head++ {
		c := r.cqes[head&*r.cqMask]
		if c.res != int32(len(msg)) {
			panic(fmt.Sprint("send res ", c.res))
		}
	}
	atomic.StoreUint32(r.cqHead, head)
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	const N = 1000
	const rounds = 300
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	var srv, cli []int
	for range N {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			panic(err)
		}
		s, err := ln.Accept()
		if err != nil {
			panic(err)
		}
		srv = append(srv, detach(s))
		cli = append(cli, detach(c))
	}
	msg := make([]byte, 220)
	buf := make([]byte, 4096)
	drain := func() {
		for _, fd := range cli {
			for {
				n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
				if e != 0 || int(n) < len(buf) {
					break
				}
			}
		}
	}
	runtime.LockOSThread()
	r := newRing(1024)
	mode := "write"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	var spent time.Duration
	for range rounds {
		t := threadCPU()
		if mode == "write" {
			for _, fd := range srv {
				n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)))
				if e != 0 || int(n) != len(msg) {
					panic(e)
				}
			}
		} else {
			r.sendAll(srv, msg)
		}
		spent += threadCPU() - t
		drain()
	}
	fmt.Printf("%s: %.2f µs per send\n", mode, float64(spent.Nanoseconds())/1e3/float64(N*rounds))
}

// files keeps the detached descriptors' files alive (a collected file
// closes its descriptor).
var files []*os.File

// detach returns a non-blocking descriptor of c's own, for raw system calls.
func detach(c net.Conn) int {
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		panic(err)
	}
	files = append(files, f)
	fd := int(f.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		panic(err)
	}
	return fd
}
