// Package httpapi is the HTTP face of Simple Comet: routing as PROTOCOL.md
// lays it out (no path cleaning, no redirects), parameter parsing, JSON,
// JSON-P and --quote-json replies, the error → return_code table, the
// publisher secret, request limits, the access log, and the http.Server and
// listener settings (timeouts, connection limit).
//
// It knows nothing of storage: it talks to a comet.Service (and through it
// to whatever comet.Engine cmd wired). Handlers keep no state between
// requests; a held read lives in the comet.Hub, not here.
package httpapi
