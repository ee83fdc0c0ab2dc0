package enginetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

func (s *suite) ids(t *testing.T) {
	start := comet.TimeID(time.Now())
	e, _ := s.start(t, Options{})
	names := []string{"i1", "i2", "i3"}
	for _, n := range names {
		register(t, e, n, comet.ChannelOptions{MaxMessages: 1000})
	}
	var last int64
	for i := range 300 {
		m := publish(t, e, names[i%3], fmt.Sprint(i))
		if m.ID <= last {
			t.Fatalf("message %d: got id %d after %d, want strictly increasing across channels", i, m.ID, last)
		}
		last = m.ID
	}
	// Ids are time-derived: not below the clock when the test began. An
	// engine whose counter is stored (Redis) may be ahead, never behind.
	res := read(t, e, q(0, names...))
	if first := res.Channels[0].Messages[0].ID; first < start {
		t.Fatalf("first id: got %d, want at least TimeID(start) %d", first, start)
	}
	if res.LastID != last {
		t.Fatalf("last_id: got %d, want %d", res.LastID, last)
	}
}

// restart closes the engine and opens it again (same storage, for the
// engines that have any): ids issued afterwards stay above the earlier ones,
// so a client's since stays valid. A burst first runs the sequence ahead of
// the clock, the hard case for a time-seeded engine.
func (s *suite) restart(t *testing.T) {
	e, _ := s.start(t, Options{})
	register(t, e, "r", comet.ChannelOptions{})
	var before comet.Message
	for i := range 2000 {
		before = publish(t, e, "r", fmt.Sprint(i))
	}
	lastBefore := read(t, e, q(0, "r")).LastID
	if err := e.Close(); err != nil {
		t.Fatalf("Close: got %v, want nil", err)
	}
	e2, _ := s.start(t, Options{})
	if err := e2.RegisterChannel(ctx(t), "r", comet.ChannelOptions{}); err != nil && !errors.Is(err, comet.ErrChannelExists) {
		t.Fatalf("RegisterChannel after restart: got %v, want nil or %v", err, comet.ErrChannelExists)
	}
	res := read(t, e2, q(0, "r"))
	if res.LastID < lastBefore {
		t.Fatalf("last_id after restart: got %d, want at least %d (never backwards)", res.LastID, lastBefore)
	}
	after := publish(t, e2, "r", "after")
	if after.ID <= before.ID {
		t.Fatalf("id after restart: got %d, want above %d", after.ID, before.ID)
	}
	// A reader that kept its since from before the restart sees the new
	// message.
	res = read(t, e2, q(lastBefore, "r"))
	wantStrings(t, "read with a since from before the restart", contents(messagesOf(res, "r")), []string{"after"})
}

// concurrent publishers never share an id, and each channel's messages are
// in id order.
func (s *suite) concurrent(t *testing.T) {
	e, _ := s.start(t, Options{})
	names := []string{"k0", "k1", "k2", "k3"}
	for _, n := range names {
		register(t, e, n, comet.ChannelOptions{MaxMessages: 10000})
	}
	const writers, each = 8, 150
	ids := make([][]int64, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				m, err := e.Publish(ctx(t), names[(w+i)%len(names)], fmt.Sprintf("%d-%d", w, i))
				if err != nil {
					errs <- err
					return
				}
				if n := len(ids[w]); n > 0 && ids[w][n-1] >= m.ID {
					errs <- fmt.Errorf("writer %d: got id %d after its own %d, want increasing", w, m.ID, ids[w][n-1])
					return
				}
				ids[w] = append(ids[w], m.ID)
			}
		})
	}
	// A reader runs alongside: every view it takes is consistent.
	stop := make(chan struct{})
	var rg sync.WaitGroup
	rg.Go(func() {
		var since int64
		for {
			select {
			case <-stop:
				return
			default:
			}
			res, err := e.Read(ctx(t), q(since, names...))
			if err != nil {
				errs <- err
				return
			}
			if res.LastID < since {
				errs <- fmt.Errorf("reader: got last_id %d below since %d", res.LastID, since)
				return
			}
			since = res.LastID
		}
	})
	wg.Wait()
	close(stop)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var all []int64
	for _, w := range ids {
		all = append(all, w...)
	}
	slices.Sort(all)
	if n := len(slices.Compact(slices.Clone(all))); n != writers*each {
		t.Fatalf("distinct ids: got %d, want %d", n, writers*each)
	}
	res := read(t, e, q(0, names...))
	got := 0
	for _, c := range res.Channels {
		got += len(c.Messages) // checkView (in read) checked the order
	}
	if got != writers*each {
		t.Fatalf("messages stored: got %d, want %d", got, writers*each)
	}
	if res.LastID != all[len(all)-1] {
		t.Fatalf("last_id: got %d, want the newest id %d", res.LastID, all[len(all)-1])
	}
}
