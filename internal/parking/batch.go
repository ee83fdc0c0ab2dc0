//go:build linux

package parking

import "golang.org/x/sys/unix"

// Sends in batches. While a loop runs its queued tasks (the answers of a
// publish's wake) and while it serves the requests of one look at its
// events, the answers written on its connections are queued instead, and
// made together through the loop's io_uring when the round ends: one
// system call for the round, not a write(2) each. Without a ring (not
// asked for, or not allowed here) every answer is written at once.

// pendingSend is an answer queued for the loop's next flush; it keeps
// resp reachable until the kernel has sent it.
type pendingSend struct {
	s         *Spot
	resp      []byte
	keepAlive bool
}

// beginBatch starts queueing the answers on lp's connections (only the
// loop calls it, and flushSends after).
func (lp *evloop) beginBatch() {
	if lp.ring == nil || lp.ring.disabled {
		return
	}
	lp.sendsMu.Lock()
	lp.batching = true
	lp.sendsMu.Unlock()
}

// queueSend queues an answer if lp is batching; false: write it now.
func (lp *evloop) queueSend(s *Spot, resp []byte, keepAlive bool) bool {
	if lp.ring == nil || len(resp) == 0 {
		return false
	}
	lp.sendsMu.Lock()
	ok := lp.batching
	if ok {
		lp.sends = append(lp.sends, pendingSend{s: s, resp: resp, keepAlive: keepAlive})
	}
	lp.sendsMu.Unlock()
	return ok
}

// flushSends stops queueing and sends what was queued, a ring's worth per
// system call, then finishes each answer as a write would have.
func (lp *evloop) flushSends() {
	if lp.ring == nil {
		return
	}
	lp.sendsMu.Lock()
	lp.batching = false // from here on nothing is queued: all is the loop's
	all := lp.sends
	lp.sendsMu.Unlock()
	if len(all) == 0 {
		return
	}
	l, r := lp.lot, lp.ring
	for rest := all; len(rest) > 0; {
		if r.disabled {
			for _, p := range rest {
				l.write(p.s, p.resp, p.keepAlive)
			}
			break
		}
		k := min(len(rest), r.size())
		for i, p := range rest[:k] {
			r.send(p.s.fd, p.resp, i)
		}
		_ = r.run(k) // a failure leaves those not run as notRun
		for i, p := range rest[:k] {
			switch res := r.res[i]; {
			case res == -int32(unix.EAGAIN):
				l.sent(p.s, p.resp, p.keepAlive, 0, unix.EAGAIN)
			case res < 0:
				// Not run, or failed: nothing was sent. A write says
				// whether the connection or the ring is at fault.
				r.refused(res)
				l.write(p.s, p.resp, p.keepAlive)
			default:
				l.sent(p.s, p.resp, p.keepAlive, int(res), nil)
			}
		}
		rest = rest[k:]
	}
	clear(all)
	lp.sendsMu.Lock()
	lp.sends = all[:0]
	if cap(all) > keptSends {
		lp.sends = nil // a large wake's queue: let it go
	}
	lp.sendsMu.Unlock()
}

// keptSends is the largest queue of sends a loop keeps for its next round.
const keptSends = 1024

// Reads in batches. The requests that one look at the events finds on
// idle connections (a publish's subscribers polling again) are read
// through the ring too, in one system call, each into one of the loop's
// own buffers, and then served in turn.

// readBatch is the most reads one submission makes.
const readBatch = 64

// queueRead queues the read of s's next request (s is being served, and
// the caller is its loop); false: read it now.
func (lp *evloop) queueRead(s *Spot) bool {
	r := lp.ring
	if r == nil || r.disabled || !r.canRecv || s.buffered.Load() {
		return false
	}
	lp.toRead = append(lp.toRead, s)
	return true
}

// readQueued reads the requests queueRead queued and serves them.
func (lp *evloop) readQueued() {
	if len(lp.toRead) == 0 {
		return
	}
	l, r := lp.lot, lp.ring
	if lp.rbufs == nil {
		lp.rbufs = make([][]byte, readBatch)
	}
	for rest := lp.toRead; len(rest) > 0; {
		if r.disabled {
			for _, s := range rest {
				l.serveNext(s)
			}
			break
		}
		k := min(len(rest), r.size(), readBatch)
		for i, s := range rest[:k] {
			if lp.rbufs[i] == nil {
				lp.rbufs[i] = make([]byte, readBufSize)
			}
			s.readable.Store(false)
			r.recv(s.fd, lp.rbufs[i], i)
		}
		_ = r.run(k) // a failure leaves those not run as notRun
		// Serving does not use the ring (its answers wait for
		// flushSends), so r.res holds until the last is served.
		for i, s := range rest[:k] {
			switch n := r.res[i]; {
			case n == -int32(unix.EAGAIN):
				l.serveRead(s, lp.rbufs[i], 0, unix.EAGAIN)
			case n < 0:
				// Not run, or failed: nothing was read. A read says
				// whether the connection or the ring is at fault.
				r.refused(n)
				l.serveNext(s)
			default:
				l.serveRead(s, lp.rbufs[i], int(n), nil)
			}
		}
		rest = rest[k:]
	}
	clear(lp.toRead)
	lp.toRead = lp.toRead[:0]
}
