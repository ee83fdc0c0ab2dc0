// Package livestatus publishes the server's live status: every few seconds
// a small JSON snapshot (channel and client counts, held polls, publish and
// delivery rates) is published to the reserved channel comet.StatusChannel
// ("$status"), which the status page long-polls like any other channel.
//
// The Publisher owns one goroutine, started by Start and stopped (and
// waited for) by Stop. Counter is the httpapi.Observer that counts this
// node's publishes and deliveries; its methods are lock-free.
package livestatus
