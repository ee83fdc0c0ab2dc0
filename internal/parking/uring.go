//go:build linux

package parking

import (
	"errors"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The little of io_uring the loops use: a ring per loop, through which a
// loop makes the sends of one round of answers, and the reads of one
// round of requests, in one system call instead of a write(2) or read(2)
// each (a third less CPU per fan-out delivery here, as measured in
// 2ea4081). Every operation carries MSG_DONTWAIT, so it completes, or
// fails with EAGAIN, inside the call that submits it: the loop never
// waits for one in the kernel.
//
// Where io_uring is missing or forbidden (an old kernel, a container's
// seccomp profile, kernel.io_uring_disabled, qemu-user), newUring fails
// and the loops write and read one by one.

const (
	sysIOUringSetup    = unix.SYS_IO_URING_SETUP // 425 on every architecture
	sysIOUringEnter    = unix.SYS_IO_URING_ENTER
	sysIOUringRegister = unix.SYS_IO_URING_REGISTER

	uringOpSend = 26 // IORING_OP_SEND
	uringOpRecv = 27 // IORING_OP_RECV

	uringEnterGetEvents = 1          // IORING_ENTER_GETEVENTS
	uringFeatSingleMmap = 1          // IORING_FEAT_SINGLE_MMAP
	uringRegisterProbe  = 8          // IORING_REGISTER_PROBE
	uringOpSupported    = 1          // IO_URING_OP_SUPPORTED
	uringOffSQEs        = 0x10000000 // IORING_OFF_SQES

	// ringEntries is the most sends one submission makes.
	ringEntries = 256
)

type uringSQOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type uringCQOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sq                                                                     uringSQOffsets
	cq                                                                     uringCQOffsets
}

type uringSQE struct {
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

type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// uring is one ring. Only its loop uses it.
type uring struct {
	fd       int
	ringMem  []byte
	sqeMem   []byte
	sqHead   *uint32
	sqTail   *uint32
	sqMask   uint32
	sqArray  []uint32
	sqes     []uringSQE
	cqHead   *uint32
	cqTail   *uint32
	cqMask   uint32
	cqes     []uringCQE
	res      []int32 // the results of the last run, by user data
	canRecv  bool    // the kernel has IORING_OP_RECV
	disabled bool    // a submission failed: write and read from now on
}

// errNoSend says that the kernel's io_uring has no send operation.
var errNoSend = errors.New("parking: io_uring has no send")

// newUring sets up a ring of ringEntries, or says why it cannot.
func newUring() (*uring, error) {
	var p uringParams
	fd, _, e := unix.Syscall(sysIOUringSetup, ringEntries, uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, e
	}
	r := &uring{fd: int(fd)}
	if err := r.setup(&p); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// setup maps the ring set up with p and checks what the kernel offers.
func (r *uring) setup(p *uringParams) error {
	if p.features&uringFeatSingleMmap == 0 {
		return errors.New("parking: io_uring without a single mapping")
	}
	if !r.supports(uringOpSend) {
		return errNoSend
	}
	r.canRecv = r.supports(uringOpRecv)
	sqSize := p.sq.array + p.sqEntries*4
	cqSize := p.cq.cqes + p.cqEntries*uint32(unsafe.Sizeof(uringCQE{}))
	m, err := unix.Mmap(r.fd, 0, int(max(sqSize, cqSize)), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return err
	}
	r.ringMem = m
	base := unsafe.Pointer(&m[0])
	r.sqHead = (*uint32)(unsafe.Add(base, p.sq.head))
	r.sqTail = (*uint32)(unsafe.Add(base, p.sq.tail))
	r.sqMask = *(*uint32)(unsafe.Add(base, p.sq.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(base, p.sq.array)), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Add(base, p.cq.head))
	r.cqTail = (*uint32)(unsafe.Add(base, p.cq.tail))
	r.cqMask = *(*uint32)(unsafe.Add(base, p.cq.ringMask))
	r.cqes = unsafe.Slice((*uringCQE)(unsafe.Add(base, p.cq.cqes)), p.cqEntries)
	sm, err := unix.Mmap(r.fd, uringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return err
	}
	r.sqeMem = sm
	r.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&sm[0])), p.sqEntries)
	r.res = make([]int32, p.sqEntries)
	return nil
}

// supports asks the kernel whether it knows operation op.
func (r *uring) supports(op uint8) bool {
	// struct io_uring_probe: 16 bytes, then 256 ops of 8 bytes each.
	var probe [16 + 256*8]byte
	_, _, e := unix.Syscall6(sysIOUringRegister, uintptr(r.fd), uringRegisterProbe, uintptr(unsafe.Pointer(&probe[0])), 256, 0, 0)
	if e != 0 {
		return false
	}
	lastOp := probe[0]
	if op > lastOp {
		return false
	}
	o := probe[16+int(op)*8:]
	return o[0] == op && (uint16(o[2])|uint16(o[3])<<8)&uringOpSupported != 0
}

// close unmaps the ring and closes it.
func (r *uring) close() {
	if r.sqeMem != nil {
		_ = unix.Munmap(r.sqeMem)
		r.sqeMem = nil
	}
	if r.ringMem != nil {
		_ = unix.Munmap(r.ringMem)
		r.ringMem = nil
	}
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

// size is how many operations one run takes (run leaves the queue empty).
func (r *uring) size() int { return len(r.sqes) }

// send queues a non-blocking send of b on fd, as operation i of the next
// run. b must stay reachable until run returns (the caller keeps it).
func (r *uring) send(fd int, b []byte, i int) {
	r.queue(uringOpSend, fd, b, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, i)
}

// recv queues a non-blocking receive into b from fd, as operation i of
// the next run (b as for send).
func (r *uring) recv(fd int, b []byte, i int) {
	r.queue(uringOpRecv, fd, b, unix.MSG_DONTWAIT, i)
}

// queue puts operation op on fd and b in the submission queue, as
// operation i of the next run.
func (r *uring) queue(op uint8, fd int, b []byte, flags uint32, i int) {
	tail := *r.sqTail
	idx := tail & r.sqMask
	r.sqes[idx] = uringSQE{
		opcode: op, fd: int32(fd),
		addr: uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))), len: uint32(len(b)),
		opFlags: flags, userData: uint64(i),
	}
	r.sqArray[idx] = idx
	atomic.StoreUint32(r.sqTail, tail+1)
}

// refused disables the ring when an operation's result says the ring,
// not the connection, cannot do it here (a kernel or a security policy
// that refuses it); the loops then write and read as without one.
func (r *uring) refused(res int32) {
	switch unix.Errno(-res) {
	case unix.EINVAL, unix.EOPNOTSUPP, unix.EPERM, unix.EACCES, unix.ENOSYS:
		r.disabled = true
	}
}

// notRun is the result of an operation that a failed submission left
// out.
const notRun = -1 << 30

// run submits the n operations queued and waits for their completions:
// r.res[i] is then the result of operation i, notRun for those a failed
// submission left out (the ring is then disabled).
func (r *uring) run(n int) error {
	for i := range n {
		r.res[i] = notRun
	}
	var err error
	for submitted := 0; submitted < n; {
		// Made as rawWrite is: sends and receives that do not wait.
		got, _, e := unix.RawSyscall6(sysIOUringEnter, uintptr(r.fd), uintptr(n-submitted), 0, 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e == 0 && got == 0 {
			e = unix.EIO
		}
		if e != 0 {
			// Take back what was not taken; those are not run.
			atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqHead))
			r.disabled = true
			err = e
			n = submitted
			break
		}
		submitted += int(got)
	}
	done := 0
	for {
		head := *r.cqHead
		tail := atomic.LoadUint32(r.cqTail)
		for ; head != tail; head++ {
			c := &r.cqes[head&r.cqMask]
			if c.userData < uint64(len(r.res)) {
				r.res[c.userData] = c.res
			}
			done++
		}
		atomic.StoreUint32(r.cqHead, head)
		if done >= n {
			return err
		}
		// Not expected with MSG_DONTWAIT: wait for the rest, telling the
		// scheduler that this call may block.
		_, _, e := unix.Syscall6(sysIOUringEnter, uintptr(r.fd), 0, uintptr(n-done), uringEnterGetEvents, 0, 0)
		if e != 0 && e != unix.EINTR {
			r.disabled = true
			return e
		}
	}
}
