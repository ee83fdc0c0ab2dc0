// Package metrics owns the server's Prometheus collectors, all registered on
// a registry passed in: held polls, publishes, deliveries, wake-ups by
// reason, request durations per resource, engine errors per operation, and
// the channel and client counts read from the engine at scrape time (with a
// short timeout, cached briefly so that scrapes cannot hammer the engine).
//
// Labels are fixed small sets (resource, status class, reason, operation):
// never a channel name or a client id. Every method is safe for concurrent
// use; the observer methods are lock-free counters.
package metrics
