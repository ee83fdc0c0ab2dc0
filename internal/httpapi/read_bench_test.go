package httpapi

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/memengine"
)

func benchResult(channels, messages int) *comet.ReadResult {
	res := &comet.ReadResult{Since: 178000000000000, LastID: 178000000000000 + int64(channels*messages)}
	id := res.Since
	for c := range channels {
		cm := comet.ChannelMessages{Channel: "channel-" + strconv.Itoa(c)}
		for range messages {
			id++
			cm.Messages = append(cm.Messages, comet.Message{ID: id, TS: 1780000000, Content: `{"user":"ann","text":"hello <world> & friends, a typical chat line"}`})
		}
		res.Channels = append(res.Channels, cm)
	}
	return res
}

// BenchmarkEncodeRead: the JSON of a read reply.
func BenchmarkEncodeRead(b *testing.B) {
	for _, bc := range []struct{ channels, messages int }{{1, 1}, {1, 10}, {10, 10}} {
		res := benchResult(bc.channels, bc.messages)
		b.Run(strconv.Itoa(bc.channels)+"ch-"+strconv.Itoa(bc.messages)+"msg", func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n += len(encodeRead(false, res))
			}
			b.SetBytes(int64(n / b.N))
		})
	}
}

// BenchmarkMultiChannelRead: a whole GET of 10 channels answered at once
// (each has new messages), through the handler with the memory engine.
func BenchmarkMultiChannelRead(b *testing.B) {
	hub := comet.NewHub(0)
	eng := memengine.New(memengine.Options{}, hub)
	defer eng.Close()
	svc := comet.NewService(eng, hub, time.Minute, 0)
	defer svc.Close()
	h := New(svc, Options{MaxChannelsPerRead: 100})
	ctx := context.Background()
	var names []string
	for c := range 10 {
		name := "channel-" + strconv.Itoa(c)
		names = append(names, name)
		if err := eng.RegisterChannel(ctx, name, comet.ChannelOptions{}); err != nil {
			b.Fatal(err)
		}
		for m := range 5 {
			if _, err := eng.Publish(ctx, name, "message "+strconv.Itoa(m)); err != nil {
				b.Fatal(err)
			}
		}
	}
	target := "/channels/" + strings.Join(names, "%7C") + ".json?since=0"
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"message 4"`) {
			b.Fatalf("got %d %s, want 200 with messages", w.Code, w.Body)
		}
	}
}

// BenchmarkPublishWakeEncode10k: one publish to a channel 10,000 polls hold,
// each woken poll taking its read and encoding its reply (what a parked
// read does, without the socket). allocs/op ÷ 10,000 is per waiter.
func BenchmarkPublishWakeEncode10k(b *testing.B) {
	const held = 10000
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
	since := make([]int64, held)
	for i := range since {
		since[i] = first.LastID
	}
	holds := make([]*comet.Hold, held)
	o := reply{format: formatJSON, read: true}
	n, bytes := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range holds {
			holds[i] = new(comet.Hold) // a hold per poll and message, as before the Hold kept its storage
			out, err := svc.Begin(ctx, holds[i], comet.ReadQuery{Channels: []string{"ch"}, Since: since[i]}, comet.WakeFunc(func(comet.WakeReason) {}))
			if out != comet.Waiting || holds[i].Await() {
				b.Fatalf("begin: got %v, %v; want a held poll", out, err)
			}
		}
		n++
		if _, err := eng.Publish(ctx, "ch", "message "+strconv.Itoa(n)); err != nil {
			b.Fatal(err)
		}
		for i, h := range holds {
			res, _ := svc.Finish(ctx, h)
			bytes += len(o.body(encodeRead(false, &res)))
			since[i] = res.LastID
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/held, "ns/waiter")
	b.ReportMetric(float64(bytes)/float64(n)/held, "B/reply")
}

// BenchmarkPublishWakeShared10k: the wake side of parked polls that wait
// for the same reply (sharedAnswers): after one publish to a channel 10,000
// polls hold with the same since, each poll leaves the Hub and takes its
// answer; the first reads and encodes, the others share its bytes. Only
// the wake side is timed (the polls are re-armed with the timer stopped);
// allocs/op ÷ 10,000 is the allocations per woken waiter.
func BenchmarkPublishWakeShared10k(b *testing.B) {
	const held = 10000
	hub := comet.NewHub(0)
	eng := memengine.New(memengine.Options{}, hub)
	defer eng.Close()
	svc := comet.NewService(eng, hub, time.Minute, 0)
	defer svc.Close()
	h := New(svc, Options{})
	ctx := context.Background()
	if err := eng.RegisterChannel(ctx, "ch", comet.ChannelOptions{}); err != nil {
		b.Fatal(err)
	}
	first, err := eng.Read(ctx, comet.ReadQuery{Channels: []string{"ch"}})
	if err != nil {
		b.Fatal(err)
	}
	since := first.LastID
	prs := make([]*parkedRead, held)
	n, bytes := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range prs {
			pr := &parkedRead{h: h, o: reply{format: formatJSON, read: true}, keepAlive: true}
			out, err := svc.Begin(ctx, &pr.held, comet.ReadQuery{Channels: []string{"ch"}, Since: since}, comet.WakeFunc(func(comet.WakeReason) {}))
			if out != comet.Waiting || pr.held.Await() {
				b.Fatalf("begin: got %v, %v; want a held poll", out, err)
			}
			pr.key = pr.shareKey()
			prs[i] = pr
		}
		n++
		if _, err := eng.Publish(ctx, "ch", "message "+strconv.Itoa(n)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, pr := range prs {
			now := time.Now()
			gen := hub.Generation()
			a, ok := h.shared.get(pr.key, gen, now)
			if ok {
				svc.Cancel(&pr.held)
			} else {
				res, _ := svc.Finish(ctx, &pr.held)
				a = sharedAnswer{resp: pr.response(&res), messages: countMessages(&res)}
				h.shared.put(pr.key, gen, now, a)
				since = res.LastID
			}
			if a.messages != 1 {
				b.Fatalf("got %d messages, want 1", a.messages)
			}
			bytes += len(a.resp)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/held, "ns/waiter")
	b.ReportMetric(float64(bytes)/float64(n)/held, "B/reply")
}
