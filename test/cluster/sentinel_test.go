package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/redisengine"
	"github.com/simple-comet/simple-comet/internal/testutil/redis"
)

// wakes is a comet.Notifier that counts NotifyAll calls by reason.
type wakes struct {
	mu  sync.Mutex
	all map[comet.WakeReason]int
}

func (w *wakes) Notify(string, comet.WakeReason) {}
func (w *wakes) NotifyAll(r comet.WakeReason) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.all == nil {
		w.all = map[comet.WakeReason]int{}
	}
	w.all[r]++
}

// waitAll waits (bounded) until NotifyAll(r) was called at least n times.
func (w *wakes) waitAll(t *testing.T, r comet.WakeReason, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		w.mu.Lock()
		got := w.all[r]
		w.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d NotifyAll(%v), want %d within %v", got, r, n, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGroupPromotesAReplicaWhenThePrimaryDies checks the test helper
// itself: a write both replicas confirmed is on the promoted one.
func TestGroupPromotesAReplicaWhenThePrimaryDies(t *testing.T) {
	g := redis.StartGroup(t)
	first := g.Primary()
	if first != g.Servers[0] {
		t.Fatalf("got primary %v, want the first server %s", first, g.Servers[0].Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := goredis.NewClient(&goredis.Options{Addr: first.Addr, MaxRetries: -1})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Wait(ctx, 2, 5*time.Second).Result(); err != nil || n != 2 {
		t.Fatalf("WAIT 2: got %d, %v, want both replicas", n, err)
	}
	first.Kill()
	p := g.WaitPromoted(first, 30*time.Second)
	c2 := goredis.NewClient(&goredis.Options{Addr: p.Addr, MaxRetries: -1})
	defer c2.Close()
	if got, err := c2.Get(ctx, "k").Result(); got != "v" {
		t.Fatalf("got %q, %v on the promoted replica, want v", got, err)
	}
}

// TestSentinelEngineFollowsThePrimary: through redis+sentinel:// the
// engine finds the primary, and after it dies and a replica is promoted it
// resumes by itself: its doorbell subscription drops (every held poll is
// woken) and comes back (every poll re-reads), writes succeed again, and
// what was acknowledged with WaitReplicas 1 is still there.
func TestSentinelEngineFollowsThePrimary(t *testing.T) {
	g := redis.StartGroup(t)
	w := &wakes{}
	e, err := redisengine.New(redisengine.Options{URL: g.URL(), Prefix: "s:", WaitReplicas: 1, OpTimeout: 2 * time.Second}, w)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	w.waitAll(t, comet.WakeResync, 1, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := e.RegisterChannel(ctx, "c", comet.ChannelOptions{}); err != nil {
		t.Fatalf("register: got %v, want nil", err)
	}
	before, err := e.Publish(ctx, "c", "before")
	if err != nil {
		t.Fatalf("publish: got %v, want nil", err)
	}
	old := g.Primary()
	old.Kill()
	w.waitAll(t, comet.WakeEngineDown, 1, 10*time.Second)
	g.WaitPromoted(old, 30*time.Second)
	w.waitAll(t, comet.WakeResync, 2, 30*time.Second)
	var after comet.Message
	deadline := time.Now().Add(30 * time.Second)
	for {
		after, err = e.Publish(ctx, "c", "after")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish after the failover: got %v, want nil", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if after.ID <= before.ID {
		t.Fatalf("got id %d after the failover, want above %d", after.ID, before.ID)
	}
	res, err := e.Read(ctx, comet.ReadQuery{Channels: []string{"c"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Channels[0].Messages; len(got) != 2 || got[0].Content != "before" || got[1].Content != "after" {
		t.Fatalf("got %+v, want before and after", got)
	}
	if err := e.Ping(ctx); err != nil {
		t.Fatalf("ping after the failover: got %v, want nil", err)
	}
}
