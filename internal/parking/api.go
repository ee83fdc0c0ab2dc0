package parking

import (
	"errors"
	"log/slog"
	"net"
	"time"
)

// ErrNotParkable is returned for a connection that did not come from a
// Lot's listener (or cannot give its file descriptor).
var ErrNotParkable = errors.New("parking: connection cannot be parked")

// Server serves a request that arrived on a connection the Lot holds idle
// (a kept-alive connection after an answer, or a new one from a native
// listener), so that it does not go through net/http. data is what one
// read returned; Serve decides what happens next.
type Server interface {
	Serve(c net.Conn, data []byte) Outcome
}

// Outcome is what a Server did with a request.
type Outcome struct {
	Resp    []byte // the response to write (unless Parked or HandOff)
	Close   bool   // close after writing Resp
	Parked  bool   // the request was parked on this connection (Park was called)
	HandOff bool   // not served: give the connection to net/http, data replayed first
	// Offload: not served, because serving it may wait and the Server was
	// called on an event loop (MayBlock was false): serve it again on a
	// worker, data replayed first.
	Offload bool
}

// Options configure a Lot.
type Options struct {
	Workers int // at least 1
	// Server, when set, serves the next request of an answered kept-alive
	// connection natively; without it the connection goes back to net/http.
	Server Server
	// IdleTimeout closes a connection idle in the Lot (default 30s).
	IdleTimeout time.Duration
	// FirstTimeout closes a new connection (ListenNative) that has sent
	// no request by then (default IdleTimeout).
	FirstTimeout time.Duration
	// Inline runs the Server, answers and hang-ups on the event loops
	// themselves, as an event-driven server does: no hand-off between
	// threads per request. The Server and the Tasks must then never block
	// there: what may wait is sent to a worker (Outcome.Offload,
	// Spot.Offload). Without Inline they all run on the workers.
	Inline bool
	// Loops is the number of event loops (default 1); connections are
	// spread over them.
	Loops int
	// IOUring has each loop send the answers of one round, and (Inline)
	// read the requests of one round, through an io_uring in one system
	// call (batch.go), where the kernel allows it; elsewhere they are
	// written and read one by one, as without it.
	IOUring bool
	// Logger receives the panics of Tasks and of the Server, which the
	// Lot recovers from (default slog.Default()).
	Logger *slog.Logger
}

// Task is work run off the caller's goroutine (see Spot.Submit). A
// pointer to the caller's own value satisfies it without an allocation,
// where a method value (a closure) would cost one per held poll.
type Task interface{ Run() }

// TaskFunc is a func as a Task.
type TaskFunc func()

// Run calls f.
func (f TaskFunc) Run() { f() }
