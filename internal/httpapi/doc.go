// Package httpapi is the HTTP face of Simple Comet: routing as PROTOCOL.md
// lays it out (no path cleaning, no redirects), parameter parsing, JSON,
// JSON-P and --quote-json replies, the error → return_code table, the
// publisher secret, request limits, the access log, and the http.Server and
// listener settings (timeouts, connection limit).
//
// Under the parking Lot (Native) the two requests a server sees most, a
// subscriber's re-poll and a publish, take a fast path (fast.go) that
// serves them from the parsed request without the router or a
// ResponseWriter; everything else, and every request that would fail,
// goes the general way. A held read on a parked connection is a
// parkedRead (park.go), reused once answered.
//
// It knows nothing of storage: it talks to a comet.Service (and through it
// to whatever comet.Engine cmd wired). Handlers keep no state between
// requests; a held read lives in the comet.Hub, not here.
package httpapi
