// Package parking is the lean transport for held polls and kept-alive
// connections: it holds them without a goroutine or buffers each, and
// serves their plain requests on a few event loops, the way an
// event-driven C server does. It is built on Linux only (epoll, and
// io_uring where the kernel allows it); elsewhere New returns an error
// that is errors.ErrUnsupported, and the caller holds every connection in
// net/http.
//
// A connection enters the Lot in one of two ways: a held poll that
// net/http read and handed over (Hijack, then Park), or a new connection
// from a ListenNative listener (Adopt). The Lot detaches it from the Go
// runtime (its own duplicate descriptor; the runtime's is closed, so the
// runtime's poller no longer wakes for it) and registers it once,
// edge-triggered, in one of its event loops (one per processor). An event
// only sets the connection's flags; its state says what they mean: a
// hang-up of a held poll ends it, input on an idle connection is its next
// request, which the Lot's Server parses and serves, parking it again if
// it must wait. Whatever the Server does not take (bodies in pieces,
// pipelining, HTTP/1.0, anything unusual) goes back to the http.Server
// through the listener the Lot wraps, attached to the runtime again, with
// the bytes already read replayed first, as if it had just been accepted.
//
// With Options.Inline (the in-memory engine, which never blocks) the
// requests, answers and hang-ups run on the loops themselves; otherwise
// (Redis) on a small worker pool. Reads and writes are non-blocking
// system calls made directly on the descriptor, or, with Options.IOUring,
// a loop's round of them through io_uring in one call (batch.go); a
// client too slow to take an answer at once gets a goroutine that
// finishes the write with a deadline.
//
// It knows nothing of HTTP beyond writing bytes it is given, and nothing
// of storage. A parked connection costs a few hundred bytes here; under
// net/http a held request costs a goroutine stack plus read and write
// buffers (about 21 KB measured).
//
// # The states of a connection
//
// A Spot (one connection in the Lot) is in one of five states:
//
//	    Park (new)                                      Adopt (new)
//	        |                                                |
//	        v                                                v
//	+---> held -----(1)-----> answering -----(3)-----> idle <----(6)----+
//	|       |                     |                     |  |             |
//	|       |                     |                     | (7)            |
//	|       |                     |                     |  v             |
//	|       |                     |                     |  serving ------+
//	|       |                     |                     |   |   |
//	+-------|---------------------|---------------------|--(8)  |
//	       (2)                   (4)                   (5)     (9)
//	        v                     v                     v       v
//	      gone <-------------------------------------------------
//
//	(1) Answer wins the CompareAndSwap: whoever answers (the caller's
//	    answer Task, on the loop when Inline, else on a worker).
//	(2) A hang-up: poke, on the loop (or in Park, for one seen while
//	    the request was served); the gone Task then runs through
//	    Submit. Also Close, and a Server that panicked (abandon).
//	(3) afterWrite, once the answer is written, kept alive, with a
//	    Server: the answering goroutine, the loop (flushSends), or the
//	    slow-write goroutine.
//	(4) afterWrite without keep-alive or after Close, a write error
//	    (drop), or no Server: handed back to net/http (handBack).
//	(5) A hang-up (poke, on the loop), the idle timeout (sweepIdle, on
//	    the sweep goroutine), or Close.
//	(6) The Server's reply written and kept alive (afterWrite, as in
//	    3), or a read that found nothing (afterRead).
//	(7) poke sees input (readable, or bytes buffered) and wins the
//	    CompareAndSwap: the loop, which serves in place when Inline
//	    (or queues the read for its io_uring round), else a worker; or
//	    the goroutine that has just made the Spot idle (3, 6).
//	(8) The Server parks the request (Park), on the serving goroutine.
//	(9) Handed off to net/http, Outcome.Close once the reply is
//	    written, a hang-up or error on the read (dropLater), or a
//	    Server that panicked (abandon).
//
// held and idle are the resting states: several goroutines may race to
// leave one (an answer against a hang-up; input against a hang-up, the
// idle timeout and Close), and a CompareAndSwap picks exactly one.
// answering and serving belong to the goroutine that won, and only it
// moves the Spot on. gone is final: the connection is closed or belongs
// to net/http again, and its loop has forgotten it (an event still in the
// loop's batch finds no Spot under its id). Close, once the loops and the
// workers have stopped, moves every Spot left to gone.
//
// The loop sets the flags (readable, rdhup, hup) from epoll; poke reads
// them only in the resting states, and every move into held or idle
// pokes again, so that an event seen in between is acted on then.
//
// # Concurrency
//
// Every exported method is safe for concurrent use. A Spot ends exactly
// once: either Answer wins or the hang-up does (its gone Task then runs
// once, off the caller's goroutine). Work is queued as a Task, an
// interface the caller's own value can satisfy, so that a held poll
// costs no closure. A Task or a Server that panics is logged through
// Options.Logger and the loop goes on.
package parking
