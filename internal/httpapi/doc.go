// Package httpapi is the HTTP face of Simple Comet: routing as PROTOCOL.md
// lays it out (no path cleaning, no redirects), parameter parsing, JSON,
// JSON-P and --quote-json replies, the error → return_code table, the
// publisher secret, request limits, the access log, and the http.Server and
// listener settings (timeouts, connection limit). It decides what to
// answer; how a reply's bytes look on the lean transport is package h1's
// (one header table, reply.go, serves both transports).
//
// Under the parking Lot (h1.Native) the two requests a server sees most, a
// subscriber's re-poll and a publish, take a fast path (fast.go) that
// serves them from the parsed request without the router or a
// ResponseWriter; everything else, and every request that would fail,
// goes the general way, and a resource whose answer may block (status,
// metrics, assets) is handed to net/http, off the Lot's event loops.
//
// It knows nothing of storage: it talks to a comet.Service (and through it
// to whatever comet.Engine cmd wired). State kept here between requests:
// the parked reads (park.go: a pooled parkedRead per held read on a parked
// connection, with its place in the hold timeout) and the encodings of
// answers that parked reads share (shared.go).
//
// Concurrency: a Handler is safe for concurrent use; a parkedRead is
// woken under the Hub's lock and answered once, on a Lot loop or worker.
package httpapi
