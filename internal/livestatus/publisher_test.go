package livestatus

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/memengine"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// snapshots reads every snapshot in the status channel newer than since.
func snapshots(t testing.TB, e comet.Engine, since int64) ([]Snapshot, int64) {
	t.Helper()
	res, err := e.Read(context.Background(), comet.ReadQuery{Channels: []string{comet.StatusChannel}, Since: since})
	if err != nil {
		return nil, since
	}
	var out []Snapshot
	for _, c := range res.Channels {
		for _, m := range c.Messages {
			var s Snapshot
			if err := json.Unmarshal([]byte(m.Content), &s); err != nil {
				t.Fatalf("snapshot %q: %v", m.Content, err)
			}
			out = append(out, s)
		}
	}
	return out, res.LastID
}

// next waits (bounded) for a snapshot newer than since that satisfies ok.
func next(t testing.TB, e comet.Engine, since int64, ok func(Snapshot) bool) (Snapshot, int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ss, last := snapshots(t, e, since)
		for _, s := range ss {
			if ok(s) {
				return s, last
			}
		}
		since = last
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("got no matching snapshot within 10s, want one")
	return Snapshot{}, 0
}

func TestPublisher(t *testing.T) {
	hub := comet.NewHub(0)
	e := memengine.New(memengine.Options{DefaultMaxMessages: 100}, hub)
	defer e.Close()
	counter := &Counter{}
	p := New(Options{Engine: e, Hub: hub, Counter: counter, Interval: 20 * time.Millisecond, MaxMessages: 5, Node: "n1", Version: "v"})
	p.Start()
	defer p.Stop()

	s, last := next(t, e, 0, func(Snapshot) bool { return true })
	if s.Node != "n1" || s.Engine != "memory" || s.Version != "v" || s.Channels != 0 {
		t.Fatalf("first snapshot: got %+v, want node n1, engine memory, version v, no channels", s)
	}

	ctx := context.Background()
	if err := e.RegisterChannel(ctx, "a", comet.ChannelOptions{}); err != nil {
		t.Fatal(err)
	}
	poll := comet.NewPoll([]string{"a"}, "", false)
	if err := hub.Add(poll); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		counter.Published()
	}
	counter.Answered(comet.WakeMessage, 4)
	counter.Answered(comet.WakeGone, 9) // nothing was delivered
	s, last = next(t, e, last, func(s Snapshot) bool { return s.Published == 10 })
	if s.Channels != 1 || s.Held != 1 || s.Delivered != 4 {
		t.Fatalf("snapshot: got channels %d held %d delivered %d, want 1, 1, 4", s.Channels, s.Held, s.Delivered)
	}
	if s.PublishRate <= 0 {
		// The 10 publishes fall in one interval of this or an earlier
		// snapshot; the counts must show in some rate.
		ss, _ := snapshots(t, e, 0)
		seen := false
		for _, x := range ss {
			seen = seen || x.PublishRate > 0
		}
		if !seen {
			t.Errorf("publish rate: got 0 in every snapshot, want the 10 publishes shown")
		}
	}
	hub.Remove(poll)

	// Retention is the small MaxMessages.
	time.Sleep(200 * time.Millisecond)
	if ss, _ := snapshots(t, e, 0); len(ss) > 5 {
		t.Errorf("status channel: got %d snapshots kept, want at most 5", len(ss))
	}

	// Removed (as on expiry): registered again by the next snapshot.
	if _, err := e.DeleteChannel(ctx, comet.StatusChannel); err != nil {
		t.Fatal(err)
	}
	next(t, e, 0, func(Snapshot) bool { return true })
	p.Stop()
	p.Stop() // twice is fine
}
