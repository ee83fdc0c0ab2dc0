// Package load drives a Comet server the way many browsers would, for
// cmd/cometload: held polls, fan-out, publish floods, subscriber churn and a
// soak run, against Simple Comet's protocol or nchan's long-poll protocol,
// reading the server's CPU and memory from /proc.
//
// Every scenario is bounded in count and in time. Each simulated client is
// one goroutine owning one keep-alive TCP connection (a minimal HTTP/1.1
// client, so that source addresses can be chosen and the client stays
// cheap); results are merged under a mutex or after the goroutines end.
package load
