// Package parking holds the connections of held polls without a goroutine
// or buffers each: a "parked" connection is one that net/http handed over
// (Hijack) after the request was read, while its answer waits for a wake.
// The Lot watches parked connections for hang-ups with one epoll instance
// and one goroutine, and runs the answers on a small worker pool. After an
// answer, a kept-alive connection stays in the Lot: when its next request
// arrives, a worker reads it and hands it to the Lot's Server (httpapi's
// Native), which serves a subscriber's re-poll without a new net/http
// connection and usually parks it again. Whatever the Server does not take
// goes back to the http.Server through the Listener the Lot wraps, with
// the bytes already read replayed first, as if it had just been accepted.
//
// It knows nothing of HTTP beyond writing bytes it is given, and nothing of
// storage. A parked connection costs a few hundred bytes here; under
// net/http a held request costs a goroutine stack plus read and write
// buffers (about 15 KB).
//
// Concurrency: every exported method is safe for concurrent use. A Spot
// ends exactly once: either Answer wins or the hang-up does (its gone
// callback then runs once, on a worker).
package parking
