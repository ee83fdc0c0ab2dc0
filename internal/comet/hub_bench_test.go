package comet_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/memengine"
)

const heldPolls = 10000

// BenchmarkHubNotify10k: one publish's wake of 10,000 polls held on one
// channel, the Hub's part only (the polls' callbacks just count). A
// Notify lets such polls go as it wakes them: they are added again, off
// the clock, before each.
func BenchmarkHubNotify10k(b *testing.B) {
	h := comet.NewHub(0)
	var woken atomic.Int64
	polls := make([]*comet.Poll, heldPolls)
	for i := range polls {
		polls[i] = comet.NewPollFunc([]string{"ch"}, "", false, func(comet.WakeReason) { woken.Add(1) })
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for _, p := range polls {
			if err := h.Add(p); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		h.Notify("ch", comet.WakeMessage)
	}
	if got, want := woken.Load(), int64(b.N)*heldPolls; got != want {
		b.Fatalf("got %d wakes, want %d", got, want)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/heldPolls, "ns/waiter")
}

// BenchmarkPublishWake10k: the full cycle of 10,000 polls on one channel
// with the memory engine: each poll begins (watch, read: nothing new), one
// publish wakes them all, each finishes (takes its read). The HTTP
// encoding of the answers is in httpapi's BenchmarkPublishWakeEncode10k.
// allocs/op ÷ 10,000 is the allocations per waiter per message.
func BenchmarkPublishWake10k(b *testing.B) {
	hub := comet.NewHub(0)
	eng := memengine.New(memengine.Options{}, hub)
	defer eng.Close()
	svc := comet.NewService(eng, hub, time.Minute, 0)
	defer svc.Close()
	ctx := context.Background()
	if err := eng.RegisterChannel(ctx, "ch", comet.ChannelOptions{}); err != nil {
		b.Fatal(err)
	}
	first, err := eng.Read(ctx, comet.ReadQuery{Channels: []string{"ch"}})
	if err != nil {
		b.Fatal(err)
	}
	since := make([]int64, heldPolls)
	for i := range since {
		since[i] = first.LastID
	}
	holds := make([]*comet.Hold, heldPolls)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range holds {
			q := comet.ReadQuery{Channels: []string{"ch"}, Since: since[i]}
			holds[i] = new(comet.Hold) // a hold per poll and message, as Read makes
			if out, err := svc.Begin(ctx, holds[i], q, nopWaker{}); out != comet.Waiting || holds[i].Await() {
				b.Fatalf("begin: got %v, err %v; want a held poll", out, err)
			}
		}
		n++
		if _, err := eng.Publish(ctx, "ch", "message "+strconv.Itoa(n)); err != nil {
			b.Fatal(err)
		}
		for i := range holds {
			res, reason := svc.Finish(ctx, holds[i])
			if reason != comet.WakeMessage {
				b.Fatalf("poll %d: woken for %v, want message", i, reason)
			}
			if len(res.Channels) != 1 || len(res.Channels[0].Messages) != 1 {
				b.Fatalf("poll %d: got %+v, want one message", i, res)
			}
			since[i] = res.LastID
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/heldPolls, "ns/waiter")
}

// nopWaker is a hold's owner that waits for nothing (the benchmarks
// finish their holds in turn).
type nopWaker struct{}

func (nopWaker) Wake(comet.WakeReason) {}
