// Package parking is the lean transport for held polls and kept-alive
// connections: it holds them without a goroutine or buffers each, and
// serves their plain requests on a few event loops, the way an
// event-driven C server does.
//
// A connection enters the Lot in one of two ways: a held poll that
// net/http read and handed over (Hijack, then Park), or a new connection
// from a ListenNative listener (Adopt). The Lot detaches it from the Go
// runtime (its own duplicate descriptor; the runtime's is closed, so the
// runtime's poller no longer wakes for it) and registers it once,
// edge-triggered, in one of its event loops (one per processor). An event
// only sets the connection's flags; its state (held, answering, idle,
// serving) says what they mean: a hang-up of a held poll ends it, input
// on an idle connection is its next request, which the Lot's Server
// (httpapi's Native) parses and serves, parking it again if it must
// wait. Whatever the Server does not take (bodies in pieces, pipelining,
// HTTP/1.0, anything unusual) goes back to the http.Server through the
// listener the Lot wraps, attached to the runtime again, with the bytes
// already read replayed first, as if it had just been accepted.
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
// buffers (about 15 KB).
//
// Concurrency: every exported method is safe for concurrent use. A Spot
// ends exactly once: either Answer wins or the hang-up does (its gone
// Task then runs once, off the caller's goroutine). Work is queued as a
// Task, an interface the caller's own value can satisfy, so that a held
// poll costs no closure; a Task that panics is logged and the loop goes
// on.
package parking
