// Package metrics checks the real server's Prometheus exposition from the
// outside: the counters and gauges move with traffic (publishes, held
// polls and each kind of wake-up), /metrics needs the secret, and
// --metrics-addr serves it on a listener of its own.
package metrics
