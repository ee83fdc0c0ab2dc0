package comet

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Hold is one read that may wait, for any transport. Its life:
//
//	Begin → Answered: Finish returns the answer at once.
//	      → Waiting:  Await, then the Waker is told once; Finish (or Cancel).
//	      → Failed:   the error says why; nothing is held.
//
// A waiting hold is in the Hub (a publish or a deletion of one of its
// channels, shutdown or an engine fault wakes it) and in the Service's
// one expiry list (its hold timeout wakes it); it costs no timer, no
// goroutine and no allocation of its own. Its storage is the caller's (a
// field of its own value, say), reused for another read once Finish or
// Cancel has returned, if Reusable says so.
type Hold struct {
	// state is one of the hold* states, with the reason of the wake that
	// won in bits 8 to 15, and holdReusable once Finish or Cancel found
	// the hold in the expiry. A wake and the owner's Await race for it.
	// It sits beside the expiry entry: a wake's answer touches both.
	state  atomic.Uint32
	expiry ExpiryEntry
	owner  Waker
	poll   Poll
	q      ReadQuery
	first  ReadResult // the view taken when the hold began
}

// Outcome is what Begin did.
type Outcome uint8

const (
	Answered Outcome = iota // answered at once: Finish returns it
	Waiting                 // held until a wake: Await, then Finish or Cancel
	Failed                  // not held: Begin's error says why
)

const (
	holdBeginning uint32 = iota // waiting; the owner has not called Await yet
	holdWaiting                 // waiting; a wake tells the owner
	holdWoken                   // a wake won (its reason in bits 8+)
	holdDone                    // answered at once, finished or cancelled

	holdReusable = 1 << 16 // with holdDone: no wake of it can still run
)

// holdWaker is a Hold as the Waker of its poll and its expiry entry (a
// conversion, not an allocation).
type holdWaker Hold

// Wake records the first wake and tells the owner, if it waits already.
// It runs under the Hub's lock, or from the expiry: it must not block.
func (w *holdWaker) Wake(reason WakeReason) {
	h := (*Hold)(w)
	for {
		s := h.state.Load()
		switch s & 0xff {
		case holdBeginning:
			if h.state.CompareAndSwap(s, holdWoken|uint32(reason)<<8) {
				return // Await will say so
			}
		case holdWaiting:
			if h.state.CompareAndSwap(s, holdWoken|uint32(reason)<<8) {
				h.owner.Wake(reason)
				return
			}
		default:
			return // woken already, or done
		}
	}
}

// Await tells a waiting hold that its owner is ready to be woken: from now
// on a wake calls the Waker given to Begin (once). It reports true when
// the hold was woken already; the Waker is then not called, and the owner
// answers at once. (False too for a hold cancelled meanwhile.)
func (h *Hold) Await() (woken bool) {
	if h.state.CompareAndSwap(holdBeginning, holdWaiting) {
		return false
	}
	return h.state.Load()&0xff == holdWoken
}

// Begin begins the read q in h, which wakes through w (see Hold for the
// outcomes). The usual case takes one read: watch every channel asked
// for, then read, so that a publish in between is not missed. When the
// read has messages, fails, or leaves out a channel (missing, or not
// readable without a client), the watch is dropped and beginSlow decides.
func (s *Service) Begin(ctx context.Context, h *Hold, q ReadQuery, w Waker) (Outcome, error) {
	return s.begin(ctx, h, q, w, false)
}

// BeginLocal is Begin where nothing may wait (an event loop): it reads
// only what the engine answers without waiting, and is Failed with
// ErrWouldBlock, holding nothing, where Begin would have waited.
func (s *Service) BeginLocal(h *Hold, q ReadQuery, w Waker) (Outcome, error) {
	return s.begin(context.Background(), h, q, w, true)
}

func (s *Service) begin(ctx context.Context, h *Hold, q ReadQuery, w Waker, local bool) (Outcome, error) {
	s.initHold(h, q, w)
	if s.Hub.Add(&h.poll) != nil {
		return s.beginSlow(ctx, h, q, w, local) // closed or full: read first
	}
	var res ReadResult
	var err error
	if local {
		res, err = s.readLocal(q)
	} else {
		res, err = s.Engine.Read(ctx, q) // not through read: the hot path
	}
	if err != nil || res.HasMessages() || len(res.Channels) != len(q.Channels) {
		s.Hub.Remove(&h.poll)
		if err != nil {
			return Failed, err
		}
		if res.HasMessages() {
			return s.answered(h, res, WakeNone), nil
		}
		return s.beginSlow(ctx, h, q, w, local)
	}
	h.q.Since, h.first = res.Since, res
	s.expiry.Add(&h.expiry, (*holdWaker)(h))
	return Waiting, nil
}

// read is one engine read; local: only what the engine answers without
// waiting, else ErrWouldBlock.
func (s *Service) read(ctx context.Context, q ReadQuery, local bool) (ReadResult, error) {
	if !local {
		return s.Engine.Read(ctx, q)
	}
	return s.readLocal(q)
}

// readLocal is a read that never waits.
func (s *Service) readLocal(q ReadQuery) (ReadResult, error) {
	if !s.EngineBlocks() {
		return s.Engine.Read(context.Background(), q)
	}
	lr, ok := s.Engine.(LocalReader)
	if !ok {
		return ReadResult{}, ErrWouldBlock
	}
	res, hit, err := lr.ReadLocal(q)
	if !hit {
		return ReadResult{}, ErrWouldBlock
	}
	return res, err
}

// EngineBlocks reports whether the engine's calls may wait (on the
// network): then an event loop must use BeginLocal and FinishLocal, and
// hand everything else to a goroutine that may wait.
func (s *Service) EngineBlocks() bool {
	_, ok := s.Engine.(NonBlocking)
	return !ok
}

// initHold makes h a new hold for q whose poll watches q's channels.
func (s *Service) initHold(h *Hold, q ReadQuery, w Waker) {
	*h = Hold{q: q, owner: w}
	initPoll(&h.poll, q.Channels, q.ClientID, q.HasClient)
	h.poll.fn = (*holdWaker)(h)
}

// answered makes h answered at once with res.
func (s *Service) answered(h *Hold, res ReadResult, reason WakeReason) Outcome {
	h.first = res
	h.state.Store(holdDone | uint32(reason)<<8 | holdReusable)
	return Answered
}

// beginSlow reads first, then watches the channels the read returned and
// reads again (so a publish in between is not missed). h is not in the
// Hub.
func (s *Service) beginSlow(ctx context.Context, h *Hold, q ReadQuery, w Waker, local bool) (Outcome, error) {
	res, err := s.read(ctx, q, local)
	if err != nil {
		return Failed, err
	}
	if res.HasMessages() {
		return s.answered(h, res, WakeNone), nil
	}
	q.Channels = readable(q.Channels, res)
	q.Since = res.Since
	s.initHold(h, q, w)
	if err := s.Hub.Add(&h.poll); err != nil {
		if errors.Is(err, ErrClosed) {
			return s.answered(h, res, WakeShutdown), nil
		}
		return Failed, err
	}
	res2, err := s.read(ctx, q, local)
	switch {
	case errors.Is(err, ErrWouldBlock):
		s.Hub.Remove(&h.poll)
		return Failed, err
	case err != nil:
		s.Hub.Remove(&h.poll)
		return s.answered(h, s.emptyView(res), WakeEngineDown), nil
	case res2.HasMessages():
		s.Hub.Remove(&h.poll)
		return s.answered(h, res2, WakeNone), nil
	}
	res.LastID = max(res.LastID, res2.LastID)
	h.first = res
	s.expiry.Add(&h.expiry, (*holdWaker)(h))
	return Waiting, nil
}

// Finish ends h and takes its answer: the one Begin found (Answered), or
// a read now, with the reason of the wake (a hold not woken is answered
// as its timeout would be). It is an empty view when the engine cannot be
// read.
func (s *Service) Finish(ctx context.Context, h *Hold) (ReadResult, WakeReason) {
	st := h.state.Load()
	if st&0xff == holdDone {
		return h.first, WakeReason(st >> 8 & 0xff)
	}
	reason := s.close(h)
	res, err := s.Engine.Read(ctx, h.q)
	if err == nil {
		return res, reason
	}
	return s.result(h, reason, res, err)
}

// FinishLocal is Finish where nothing may wait (an event loop): ok is
// false, and h is still waiting for Finish, when the engine cannot answer
// without waiting.
func (s *Service) FinishLocal(h *Hold) (res ReadResult, reason WakeReason, ok bool) {
	st := h.state.Load()
	if st&0xff == holdDone {
		return h.first, WakeReason(st >> 8 & 0xff), true
	}
	// Read before the hold ends: a wake that comes in between changes
	// nothing, the hold is being answered already.
	res, err := s.readLocal(h.q)
	if errors.Is(err, ErrWouldBlock) {
		return ReadResult{}, WakeNone, false
	}
	res, reason = s.result(h, s.close(h), res, err)
	return res, reason, true
}

// close ends h for Finish and returns the reason of its answer.
func (s *Service) close(h *Hold) WakeReason {
	reason := WakeTimeout
	if st := s.end(h); st&0xff == holdWoken {
		reason = WakeReason(st >> 8 & 0xff)
	}
	// What Reason says from now on (end keeps the reusable bit).
	h.state.Store(h.state.Load() | uint32(reason)<<8)
	return reason
}

// result is the answer of a hold ended for reason whose read gave res, err.
func (s *Service) result(h *Hold, reason WakeReason, res ReadResult, err error) (ReadResult, WakeReason) {
	if err != nil {
		if errors.Is(err, ErrNoValidChannels) || errors.Is(err, ErrUnknownClient) {
			// Every channel went away (or the client expired meanwhile): the
			// poll is answered with what is left, which is nothing.
			return ReadResult{Since: h.first.Since, LastID: h.first.LastID}, reason
		}
		return s.emptyView(h.first), WakeEngineDown
	}
	return res, reason
}

// Cancel ends h without its answer: its client left, or its answer was
// found elsewhere. It reports whether h was still waiting (no wake came,
// and none will).
func (s *Service) Cancel(h *Hold) (waiting bool) {
	if h.state.Load()&0xff == holdDone {
		return false
	}
	st := s.end(h)
	return st&0xff == holdBeginning || st&0xff == holdWaiting
}

// end takes h out of the expiry and the Hub, so that nothing wakes it
// from now on, and makes it done; it returns the state it was in.
func (s *Service) end(h *Hold) uint32 {
	// Out of the expiry first: when its time came already, its wake may
	// still be running, so its storage is not reused.
	done := holdDone
	if s.expiry.Remove(&h.expiry) {
		done |= holdReusable
	}
	s.Hub.Remove(&h.poll)
	return h.state.Swap(done)
}

// Reason is the reason of the wake that woke h (WakeNone when none did
// yet). Before Finish it is the reason Finish will give, unless the engine
// fails.
func (h *Hold) Reason() WakeReason {
	st := h.state.Load()
	if st&0xff == holdWoken || st&0xff == holdDone {
		return WakeReason(st >> 8 & 0xff)
	}
	return WakeNone
}

// Reusable reports whether, once Finish or Cancel has returned, nothing
// refers to h any more: no wake of it can still be running.
func (h *Hold) Reusable() bool { return h.state.Load()&holdReusable != 0 }

// Since is the since the hold reads from (after clamping).
func (h *Hold) Since() int64 { return h.q.Since }

// Channels are the channels the hold watches.
func (h *Hold) Channels() []string { return h.q.Channels }

// Client is the reader's client id, if one was given.
func (h *Hold) Client() (string, bool) { return h.q.ClientID, h.q.HasClient }

// HoldSlack is how late a hold of the given timeout may time out, so that
// holds that began within it of each other time out together (one firing
// of the expiry's timer): a hundredth of the timeout, at most 20 ms.
func HoldSlack(timeout time.Duration) time.Duration {
	return min(timeout/100, 20*time.Millisecond)
}

// Timing is the number of holds waiting for their timeout now.
func (s *Service) Timing() int { return s.expiry.Len() }
