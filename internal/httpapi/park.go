package httpapi

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/h1"
	"github.com/simple-comet/simple-comet/internal/parking"
)

// A parked read is a held poll whose connection was taken from net/http,
// or read by h1.Native, and parked (see package parking): no goroutine and
// no buffers wait for it. Its hold is a comet.Hold: the Service owns its
// timeout and its wake/answer state. A wake (publish, delete, timeout,
// shutdown, engine fault) queues its answer with the Lot (Spot.Submit: on
// the connection's event loop with the embedded engine, else on a
// worker); a hang-up forgets it.

// parkedRead is a read held on a parked connection: its hold (the
// Service's), how to answer it and where.
type parkedRead struct {
	h         *Handler
	o         reply
	held      comet.Hold
	spot      *parking.Spot
	keepAlive bool
	start     time.Time
	key       shareKey
	offloaded bool // its answer runs on a worker (parking.Spot.Offload)
}

// parkable reports whether this request's connection can be parked.
func (h *Handler) parkable(w http.ResponseWriter, r *http.Request) bool {
	if h.opts.Lot == nil || r.ProtoMajor != 1 || r.ProtoMinor < 1 {
		return false
	}
	return parkableConn(connOf(w, r)) != nil
}

// parkableConn is c, or the connection under it (h1.TimeoutConn), when the
// Lot can park it; else nil.
func parkableConn(c net.Conn) net.Conn {
	for c != nil {
		if parking.Parkable(c) {
			return c
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
	return nil
}

// readParked runs a read whose hold, if any, is parked. It always answers.
func (h *Handler) readParked(w http.ResponseWriter, r *http.Request, o *reply, q comet.ReadQuery) {
	pr, res, reason, err := h.beginParked(r, o, q, requestStart(w), false)
	if pr == nil {
		h.answerRead(w, r, o, res, reason, err)
		return
	}
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		res, reason := h.svc.Finish(r.Context(), &pr.held)
		h.answerRead(w, r, o, res, reason, nil)
		return
	}
	var buffered []byte
	if n := rw.Reader.Buffered(); n > 0 {
		buffered, _ = rw.Reader.Peek(n)
	}
	h.parkRead(pr, parkableConn(c), buffered)
	markParked(w)
}

// connOf is the connection a request came on: from the context under
// net/http, from Native's writer under the lean transport.
func connOf(w http.ResponseWriter, r *http.Request) net.Conn {
	if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
		return c
	}
	return h1.ConnOf(w)
}

// beginParked begins a read that is to be parked if it must wait: the
// parked read to park, or nil and what to answer now. local: on an event
// loop (comet.Service.BeginLocal; the error is ErrWouldBlock where it
// would wait).
func (h *Handler) beginParked(r *http.Request, o *reply, q comet.ReadQuery, start time.Time, local bool) (*parkedRead, comet.ReadResult, comet.WakeReason, error) {
	pr := parkedReads.Get().(*parkedRead)
	*pr = parkedRead{h: h, o: *o, keepAlive: !r.Close, start: start}
	var out comet.Outcome
	var err error
	if local {
		out, err = h.svc.BeginLocal(&pr.held, q, pr)
	} else {
		out, err = h.svc.Begin(r.Context(), &pr.held, q, pr)
	}
	switch out {
	case comet.Failed:
		return nil, comet.ReadResult{}, comet.WakeNone, err
	case comet.Answered:
		res, reason := h.svc.Finish(r.Context(), &pr.held) // answered: no read
		return nil, res, reason, nil
	}
	return pr, comet.ReadResult{}, comet.WakeNone, nil
}

// parkRead parks the connection c of a read that waits (buffered: what was
// read beyond its request). It always answers, now or when woken.
func (h *Handler) parkRead(pr *parkedRead, c net.Conn, buffered []byte) {
	spot, err := h.opts.Lot.Park(c, buffered, (*prGone)(pr))
	if err != nil {
		// Cannot watch it: answer now with what there is, and close (off
		// this goroutine, which may be an event loop, when the read may
		// wait).
		answer := func() {
			res, reason := h.svc.Finish(context.Background(), &pr.held)
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, _ = c.Write(pr.response(&res))
			c.Close()
			h.obs.Answered(reason, 0)
		}
		if h.svc.EngineBlocks() {
			go answer()
		} else {
			answer()
		}
		return
	}
	pr.spot = spot
	pr.key = pr.shareKey()
	if pr.held.Await() {
		pr.spot.Submit(pr) // woken before it was parked: answer
	}
}

// parkedReads are reused: a parked read that was answered (its client
// took the answer) is nobody's any more, unless its time had come. Its
// hold then makes no allocation either.
var parkedReads = sync.Pool{New: func() any { return new(parkedRead) }}

// Wake is the hold's owner's callback (comet.Waker), called once when a
// wake comes: it may run under the Hub's lock, so it only queues the
// answer (Run).
func (pr *parkedRead) Wake(comet.WakeReason) { pr.spot.Submit(pr) }

// Run answers the poll: the task that Wake queues (parking.Task).
func (pr *parkedRead) Run() { pr.answer() }

// prGone is a parkedRead as the task run when its client hangs up.
type prGone parkedRead

func (g *prGone) Run() { (*parkedRead)(g).gone() }

// gone runs when the client hung up while parked: nothing is written and
// nothing is left behind.
func (pr *parkedRead) gone() {
	if pr.h.svc.Cancel(&pr.held) {
		pr.h.obs.Answered(comet.WakeGone, 0)
	}
}

// answer takes the read that answers the poll and writes it: the answer
// that parked reads of the same reply share, or a read of its own.
func (pr *parkedRead) answer() {
	now := time.Now()
	gen := pr.h.svc.Hub.Generation()
	reason := pr.held.Reason()
	a, ok := pr.h.shared.get(pr.key, gen, now)
	if ok {
		pr.h.svc.Cancel(&pr.held)
	} else {
		var res comet.ReadResult
		if pr.onLoop() {
			var local bool
			if res, reason, local = pr.h.svc.FinishLocal(&pr.held); !local {
				// The engine must be asked: on a worker.
				pr.offloaded = true
				pr.spot.Offload(pr)
				return
			}
		} else {
			res, reason = pr.h.svc.Finish(sharedEngineContext(), &pr.held)
		}
		a = sharedAnswer{resp: pr.response(&res), messages: countMessages(&res)}
		if reason != comet.WakeEngineDown {
			pr.h.shared.put(pr.key, gen, now, a)
		}
	}
	if !pr.spot.Answer(a.resp, pr.keepAlive) {
		pr.h.obs.Answered(comet.WakeGone, 0)
		return
	}
	pr.h.obs.Answered(reason, a.messages)
	pr.h.obs.Request(resChannel.String(), http.StatusOK, now.Sub(pr.start))
	if pr.held.Reusable() {
		// Answered, so its client's hang-up task will not run: nothing
		// refers to it now.
		*pr = parkedRead{}
		parkedReads.Put(pr)
	}
}

// onLoop reports whether the answer runs on an event loop (the Lot is
// Inline and it was not offloaded) with an engine whose reads may wait.
func (pr *parkedRead) onLoop() bool {
	return !pr.offloaded && pr.h.opts.Lot.Inline() && pr.h.svc.EngineBlocks()
}

// response is the whole HTTP response for a read.
func (pr *parkedRead) response(res *comet.ReadResult) []byte {
	body := pr.o.body(encodeRead(pr.o.quote && pr.o.format != formatJSONP, res))
	return pr.o.appendReply(make([]byte, 0, len(body)+420), http.StatusOK, body, !pr.keepAlive, false)
}

func countMessages(res *comet.ReadResult) int {
	n := 0
	for _, c := range res.Channels {
		n += len(c.Messages)
	}
	return n
}

// markParked tells every statusWriter around w (the handler's own and an
// access log's) that the request was parked: it will be answered later,
// with 200, off this goroutine.
func markParked(w http.ResponseWriter) {
	for w != nil {
		sw, ok := w.(*statusWriter)
		if !ok {
			return
		}
		sw.parked = true
		w = sw.ResponseWriter
	}
}
