package redisengine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/enginetest"
	"github.com/simple-comet/simple-comet/internal/testutil/redis"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wake is one notification an engine gave.
type wake struct {
	channel string // "" for NotifyAll
	reason  comet.WakeReason
}

// recorder is a comet.Notifier that keeps every notification.
type recorder struct {
	mu    sync.Mutex
	wakes []wake
	ch    chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 1)} }

func (r *recorder) add(w wake) {
	r.mu.Lock()
	r.wakes = append(r.wakes, w)
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
}

func (r *recorder) Notify(channel string, reason comet.WakeReason) { r.add(wake{channel, reason}) }
func (r *recorder) NotifyAll(reason comet.WakeReason)              { r.add(wake{"", reason}) }

// waitFor waits (bounded) until a notification equal to w arrived.
func (r *recorder) waitFor(t testing.TB, w wake) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		for _, got := range r.wakes {
			if got == w {
				r.mu.Unlock()
				return
			}
		}
		seen := append([]wake(nil), r.wakes...)
		r.mu.Unlock()
		select {
		case <-r.ch:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("got notifications %v, want one of %v", seen, w)
		}
	}
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.wakes = nil
	r.mu.Unlock()
}

// node starts an engine on srv with the given options (URL and a per-test
// prefix filled in) and closes it when the test ends.
func node(t testing.TB, srv *redis.Server, prefix string, o Options) (*Engine, *recorder) {
	t.Helper()
	o.URL, o.Prefix = srv.URL, prefix
	if o.OpTimeout == 0 {
		o.OpTimeout = time.Second
	}
	rec := newRecorder()
	e, err := New(o, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	// The first subscription announces itself with a resync.
	rec.waitFor(t, wake{"", comet.WakeResync})
	rec.reset()
	return e, rec
}

func bg(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustRead(t testing.TB, e *Engine, q comet.ReadQuery) comet.ReadResult {
	t.Helper()
	res, err := e.Read(bg(t), q)
	if err != nil {
		t.Fatalf("read %v: got error %v, want none", q.Channels, err)
	}
	return res
}

func TestTwoNodesShareChannelsIdsAndDoorbells(t *testing.T) {
	srv := redis.Start(t)
	a, _ := node(t, srv, "t1:", Options{})
	b, recB := node(t, srv, "t1:", Options{})
	ctx := bg(t)
	before := comet.TimeID(time.Now().Add(-time.Second))
	if err := a.RegisterChannel(ctx, "news", comet.ChannelOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.RegisterChannel(ctx, "news", comet.ChannelOptions{}); !errors.Is(err, comet.ErrChannelExists) {
		t.Fatalf("got %v registering on the second node, want ErrChannelExists", err)
	}
	first := mustRead(t, b, comet.ReadQuery{Channels: []string{"news"}})
	if first.LastID < before {
		t.Fatalf("got last_id %d before any message, want it seeded from Redis TIME (>= %d)", first.LastID, before)
	}
	var last int64
	for i := range 20 {
		e := a
		if i%2 == 1 {
			e = b
		}
		m, err := e.Publish(ctx, "news", fmt.Sprintf("m%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if m.ID <= last || m.ID <= first.LastID {
			t.Fatalf("got id %d after %d (start %d), want strictly increasing across nodes", m.ID, last, first.LastID)
		}
		last = m.ID
	}
	recB.waitFor(t, wake{"news", comet.WakeMessage})
	res := mustRead(t, b, comet.ReadQuery{Channels: []string{"nope", "news"}, Since: first.LastID})
	if len(res.Channels) != 1 || len(res.Channels[0].Messages) != 20 {
		t.Fatalf("got %+v, want the one known channel with 20 messages", res.Channels)
	}
	if res.LastID != last || res.Since != first.LastID {
		t.Fatalf("got since %d last_id %d, want %d and %d", res.Since, res.LastID, first.LastID, last)
	}
	for i, m := range res.Channels[0].Messages {
		if m.Content != fmt.Sprintf("m%d", i) || m.TS < time.Now().Unix()-60 {
			t.Fatalf("message %d: got %+v, want content m%d and a current ts", i, m, i)
		}
	}
	// A since above the newest id is taken as the newest id.
	if res := mustRead(t, a, comet.ReadQuery{Channels: []string{"news"}, Since: 1 << 62}); res.Since != last || res.HasMessages() {
		t.Fatalf("got since %d with messages %v, want %d and none", res.Since, res.HasMessages(), last)
	}
	// Delete on one node wakes the other's polls.
	recB.reset()
	if removed, err := a.DeleteChannel(ctx, "news"); err != nil || !removed {
		t.Fatalf("got %v, %v, want removed", removed, err)
	}
	recB.waitFor(t, wake{"news", comet.WakeDeleted})
	if removed, _ := b.DeleteChannel(ctx, "news"); removed {
		t.Fatal("got removed twice, want false the second time")
	}
	if _, err := b.Publish(ctx, "news", "x"); !errors.Is(err, comet.ErrNoChannel) {
		t.Fatalf("got %v publishing to a deleted channel, want ErrNoChannel", err)
	}
	if _, err := b.Read(ctx, comet.ReadQuery{Channels: []string{"news"}}); !errors.Is(err, comet.ErrNoValidChannels) {
		t.Fatalf("got %v, want ErrNoValidChannels", err)
	}
}

func TestRetentionAndTruncated(t *testing.T) {
	srv := redis.Start(t)
	e, _ := node(t, srv, "t2:", Options{})
	ctx := bg(t)
	if err := e.RegisterChannel(ctx, "c", comet.ChannelOptions{MaxMessages: 3}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 5 {
		m, err := e.Publish(ctx, "c", fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	res := mustRead(t, e, comet.ReadQuery{Channels: []string{"c"}})
	if got := res.Channels[0].Messages; len(got) != 3 || got[0].Content != "2" || got[2].Content != "4" {
		t.Fatalf("got %+v, want the newest three messages 2..4", got)
	}
	if len(res.Truncated) != 0 {
		t.Fatalf("got truncated %v with since 0, want none", res.Truncated)
	}
	if res := mustRead(t, e, comet.ReadQuery{Channels: []string{"c"}, Since: ids[0]}); len(res.Truncated) != 1 {
		t.Fatalf("got truncated %v since the first id, want [c] (message 1 was dropped)", res.Truncated)
	}
	if res := mustRead(t, e, comet.ReadQuery{Channels: []string{"c"}, Since: ids[1]}); len(res.Truncated) != 0 || len(res.Channels[0].Messages) != 3 {
		t.Fatalf("got truncated %v, %d messages since the second id, want none and 3", res.Truncated, len(res.Channels[0].Messages))
	}
	// Content is stored as is, separators and all.
	odd := "a:b:c\x00 ünï"
	m, err := e.Publish(ctx, "c", odd)
	if err != nil {
		t.Fatal(err)
	}
	res = mustRead(t, e, comet.ReadQuery{Channels: []string{"c"}, Since: ids[4]})
	if got := res.Channels[0].Messages; len(got) != 1 || got[0].Content != odd || got[0].ID != m.ID {
		t.Fatalf("got %+v, want one message %q id %d", got, odd, m.ID)
	}
}

func TestSessionsAndClients(t *testing.T) {
	srv := redis.Start(t)
	e, _ := node(t, srv, "t3:", Options{SessionTimeout: 400 * time.Millisecond})
	ctx := bg(t)
	if err := e.RegisterChannel(ctx, "private", comet.ChannelOptions{UseSessions: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.RegisterChannel(ctx, "public", comet.ChannelOptions{}); err != nil {
		t.Fatal(err)
	}
	if res := mustRead(t, e, comet.ReadQuery{Channels: []string{"private", "public"}}); len(res.Channels) != 1 || res.Channels[0].Channel != "public" {
		t.Fatalf("got %+v without a client, want only public", res.Channels)
	}
	if _, err := e.Read(ctx, comet.ReadQuery{Channels: []string{"private"}}); !errors.Is(err, comet.ErrNoValidChannels) {
		t.Fatalf("got %v, want ErrNoValidChannels", err)
	}
	if _, err := e.Read(ctx, comet.ReadQuery{Channels: []string{"private"}, ClientID: "u", HasClient: true}); !errors.Is(err, comet.ErrUnknownClient) {
		t.Fatalf("got %v for an unregistered client, want ErrUnknownClient", err)
	}
	if err := e.RegisterClient(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if err := e.RegisterClient(ctx, "u"); !errors.Is(err, comet.ErrClientExists) {
		t.Fatalf("got %v, want ErrClientExists", err)
	}
	q := comet.ReadQuery{Channels: []string{"private", "public"}, ClientID: "u", HasClient: true}
	if res := mustRead(t, e, q); len(res.Channels) != 2 {
		t.Fatalf("got %d channels with a client, want 2", len(res.Channels))
	}
	// Touch keeps the client alive past its timeout; without it, it expires.
	for range 4 {
		time.Sleep(150 * time.Millisecond)
		if err := e.Touch(ctx, nil, []string{"u"}); err != nil {
			t.Fatal(err)
		}
	}
	mustRead(t, e, q)
	time.Sleep(700 * time.Millisecond)
	if _, err := e.Read(ctx, q); !errors.Is(err, comet.ErrUnknownClient) {
		t.Fatalf("got %v after the session timeout, want ErrUnknownClient", err)
	}
	if removed, _ := e.DeleteClient(ctx, "u"); removed {
		t.Fatal("got removed for an expired client, want false")
	}
	if err := e.RegisterClient(ctx, "u"); err != nil {
		t.Fatalf("got %v registering an expired id again, want success", err)
	}
	if removed, err := e.DeleteClient(ctx, "u"); err != nil || !removed {
		t.Fatalf("got %v, %v, want removed", removed, err)
	}
}

func TestChannelExpiryWakesEveryNode(t *testing.T) {
	srv := redis.Start(t)
	o := Options{ChannelTimeout: 300 * time.Millisecond}
	a, _ := node(t, srv, "t4:", o)
	b, recB := node(t, srv, "t4:", o)
	ctx := bg(t)
	for _, c := range []string{"kept", "dropped"} {
		if err := a.RegisterChannel(ctx, c, comet.ChannelOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A held poll on node a keeps "kept" alive through Touch.
	for range 6 {
		time.Sleep(100 * time.Millisecond)
		if err := a.Touch(ctx, []string{"kept"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	recB.waitFor(t, wake{"dropped", comet.WakeDeleted})
	if _, err := b.Publish(ctx, "dropped", "x"); !errors.Is(err, comet.ErrNoChannel) {
		t.Fatalf("got %v publishing to an expired channel, want ErrNoChannel", err)
	}
	if _, err := b.Publish(ctx, "kept", "x"); err != nil {
		t.Fatalf("got %v publishing to a touched channel, want success", err)
	}
}

func TestStatusAndCapacity(t *testing.T) {
	srv := redis.Start(t)
	a, _ := node(t, srv, "t5:", Options{MaxChannels: 3, MaxClients: 2})
	b, _ := node(t, srv, "t5:", Options{MaxChannels: 3, MaxClients: 2})
	ctx := bg(t)
	for i, e := range []*Engine{a, b, a} {
		if err := e.RegisterChannel(ctx, fmt.Sprintf("c%d", i), comet.ChannelOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.RegisterChannel(ctx, "c3", comet.ChannelOptions{}); !errors.Is(err, comet.ErrCapacity) {
		t.Fatalf("got %v for a fourth channel across nodes, want ErrCapacity", err)
	}
	if err := b.RegisterChannel(ctx, comet.StatusChannel, comet.ChannelOptions{}); err != nil {
		t.Fatalf("got %v for the reserved channel, want it outside the limit", err)
	}
	for _, id := range []string{"x", "y"} {
		if err := b.RegisterClient(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.RegisterClient(ctx, "z"); !errors.Is(err, comet.ErrCapacity) {
		t.Fatalf("got %v for a third client, want ErrCapacity", err)
	}
	if _, err := a.Publish(ctx, "c1", "m"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Publish(ctx, comet.StatusChannel, "s"); err != nil {
		t.Fatal(err)
	}
	st, err := b.Status(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if st.ChannelsCount != 3 || len(st.Channels) != 2 || st.ClientsCount != 2 || len(st.Clients) != 2 || st.MessagesPublished != 1 {
		t.Fatalf("got %+v, want 3 channels (2 listed, no $status), 2 clients, 1 published (not the $status one)", st)
	}
	for _, c := range st.Channels {
		if comet.Reserved(c) {
			t.Fatalf("got reserved %q listed, want it hidden", c)
		}
	}
}

func TestRedisRestartKeepsIdsAndWakesPolls(t *testing.T) {
	srv := redis.Start(t)
	e, rec := node(t, srv, "t6:", Options{OpTimeout: 500 * time.Millisecond})
	ctx := bg(t)
	if err := e.RegisterChannel(ctx, "c", comet.ChannelOptions{}); err != nil {
		t.Fatal(err)
	}
	var last int64
	for range 50 {
		m, err := e.Publish(ctx, "c", "before")
		if err != nil {
			t.Fatal(err)
		}
		last = m.ID
	}
	srv.Kill()
	rec.waitFor(t, wake{"", comet.WakeEngineDown})
	if err := e.Ping(ctx); !errors.Is(err, comet.ErrUnavailable) {
		t.Fatalf("got %v from Ping with Redis down, want ErrUnavailable", err)
	}
	start := time.Now()
	if _, err := e.Publish(ctx, "c", "lost"); !errors.Is(err, comet.ErrUnavailable) {
		t.Fatalf("got %v publishing with Redis down, want ErrUnavailable", err)
	}
	if _, err := e.Read(ctx, comet.ReadQuery{Channels: []string{"c"}}); !errors.Is(err, comet.ErrUnavailable) {
		t.Fatalf("got %v reading with Redis down, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("got failures after %v, want them bounded by the op timeout", d)
	}
	rec.reset()
	srv.Restart()
	rec.waitFor(t, wake{"", comet.WakeResync})
	if err := e.Ping(ctx); err != nil {
		t.Fatalf("got %v from Ping after the restart, want nil", err)
	}
	m, err := e.Publish(ctx, "c", "after")
	if err != nil {
		t.Fatal(err)
	}
	if m.ID <= last {
		t.Fatalf("got id %d after the restart, want above %d", m.ID, last)
	}
	res := mustRead(t, e, comet.ReadQuery{Channels: []string{"c"}})
	if n := len(res.Channels[0].Messages); n != 51 {
		t.Fatalf("got %d messages after the restart, want 51 (50 acknowledged + 1)", n)
	}
}

func TestBadURL(t *testing.T) {
	if _, err := New(Options{URL: "http://x"}, newRecorder()); err == nil {
		t.Fatal("got no error for an http:// URL, want one")
	}
}

// TestRepollsAreAnsweredLocally: once a node has read a channel, its
// re-polls and wake-ups are answered from the local copy, without Redis,
// and still see every message.
func TestRepollsAreAnsweredLocally(t *testing.T) {
	srv := redis.Start(t)
	rec := enginetest.NewRecorder()
	e, err := New(Options{URL: srv.URL, Prefix: "local:"}, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rec.WaitCount(t, "", comet.WakeResync, 1, 10*time.Second)
	ctx := context.Background()
	if err := e.RegisterChannel(ctx, "c", comet.ChannelOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Read(ctx, comet.ReadQuery{Channels: []string{"c"}}); err != nil {
		t.Fatal(err)
	}
	misses0 := e.copy.Misses()
	var since int64
	for i := range 20 {
		m, err := e.Publish(ctx, "c", "x")
		if err != nil {
			t.Fatal(err)
		}
		rec.WaitCount(t, "c", comet.WakeMessage, i+1, 5*time.Second)
		res, err := e.Read(ctx, comet.ReadQuery{Channels: []string{"c"}, Since: since})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Channels) != 1 || len(res.Channels[0].Messages) != 1 || res.Channels[0].Messages[0].ID != m.ID {
			t.Fatalf("read after publish %d: got %+v, want exactly message %d", i, res.Channels, m.ID)
		}
		since = res.LastID
	}
	if misses := e.copy.Misses() - misses0; misses != 0 {
		t.Fatalf("reads the local copy could not answer: got %d of 20, want none", misses)
	}
}
