package comet_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/memengine"
)

// The Service tests run on the real memory engine, in fake time.

type fixture struct {
	svc *comet.Service
	e   comet.Engine
	hub *comet.Hub
}

func newFixture(t *testing.T, hold time.Duration, maxHeld int, o memengine.Options) *fixture {
	t.Helper()
	hub := comet.NewHub(maxHeld)
	e := memengine.New(o, hub)
	svc := comet.NewService(e, hub, hold, comet.KeepAliveInterval(o.ChannelTimeout, o.SessionTimeout))
	t.Cleanup(func() {
		svc.Close()
		svc.Close() // twice: harmless
		e.Close()
	})
	f := &fixture{svc: svc, e: e, hub: hub}
	return f
}

func (f *fixture) register(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := f.e.RegisterChannel(context.Background(), n, comet.ChannelOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) publish(t *testing.T, name, content string) comet.Message {
	t.Helper()
	m, err := f.e.Publish(context.Background(), name, content)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type answer struct {
	res    comet.ReadResult
	reason comet.WakeReason
	err    error
	at     time.Time
}

// hold starts a read in a goroutine and waits until it is blocked (held or
// answered).
func (f *fixture) hold(ctx context.Context, q comet.ReadQuery) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		res, reason, err := f.svc.Read(ctx, q)
		ch <- answer{res, reason, err, time.Now()}
	}()
	synctest.Wait()
	return ch
}

func (f *fixture) wantHeld(t *testing.T, n int) {
	t.Helper()
	if got := f.hub.Held(); got != n {
		t.Fatalf("held polls: got %d, want %d", got, n)
	}
}

func got(t *testing.T, ch <-chan answer) answer {
	t.Helper()
	synctest.Wait()
	select {
	case a := <-ch:
		return a
	default:
		t.Fatal("the read was not answered; want an answer")
		return answer{}
	}
}

func chanNames(r comet.ReadResult) []string {
	var out []string
	for _, c := range r.Channels {
		out = append(out, c.Channel)
	}
	return out
}

func TestServiceAnswersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 30*time.Second, 0, memengine.Options{})
		f.register(t, "a", "b")
		m := f.publish(t, "b", "hi")
		start := time.Now()
		a := got(t, f.hold(context.Background(), comet.ReadQuery{Channels: []string{"a", "b"}}))
		if a.err != nil || a.reason != comet.WakeNone || !a.at.Equal(start) {
			t.Fatalf("got (%v, %v) after %v, want (none, nil) at once", a.reason, a.err, a.at.Sub(start))
		}
		if ms := a.res.Channels[1].Messages; len(ms) != 1 || ms[0].ID != m.ID {
			t.Fatalf("got messages %+v, want the one published", a.res.Channels)
		}
		wantEmpty(t, f.hub)
	})
}

func TestServiceErrorsBeforeHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 30*time.Second, 0, memengine.Options{})
		f.register(t, "a")
		cases := []struct {
			q    comet.ReadQuery
			want error
		}{
			{comet.ReadQuery{Channels: []string{"missing"}}, comet.ErrNoValidChannels},
			{comet.ReadQuery{Channels: []string{"a"}, ClientID: "nobody", HasClient: true}, comet.ErrUnknownClient},
		}
		for _, c := range cases {
			a := got(t, f.hold(context.Background(), c.q))
			if !errors.Is(a.err, c.want) || a.reason != comet.WakeNone {
				t.Fatalf("Read(%+v): got (%v, %v), want (none, %v)", c.q, a.reason, a.err, c.want)
			}
		}
		wantEmpty(t, f.hub)
	})
}

func TestServiceWakesOnPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 30*time.Second, 0, memengine.Options{})
		f.register(t, "a", "b", "other")
		since := f.publish(t, "a", "old").ID
		q := comet.ReadQuery{Channels: []string{"a", "b", "missing"}, Since: since}
		ch1 := f.hold(context.Background(), q)
		ch2 := f.hold(context.Background(), q)
		f.wantHeld(t, 2)
		f.publish(t, "other", "not watched")
		synctest.Wait()
		f.wantHeld(t, 2)
		time.Sleep(5 * time.Second)
		start := time.Now()
		m := f.publish(t, "b", "new")
		for i, ch := range []<-chan answer{ch1, ch2} {
			a := got(t, ch)
			if a.err != nil || a.reason != comet.WakeMessage || !a.at.Equal(start) {
				t.Fatalf("poll %d: got (%v, %v) after %v, want (message, nil) at once", i, a.reason, a.err, a.at.Sub(start))
			}
			if a.res.Since != since || a.res.LastID != m.ID {
				t.Fatalf("poll %d: got since %d last_id %d, want %d and %d", i, a.res.Since, a.res.LastID, since, m.ID)
			}
			if n := chanNames(a.res); len(n) != 2 || n[0] != "a" || n[1] != "b" {
				t.Fatalf("poll %d: got channels %q, want [a b]", i, n)
			}
			if ms := a.res.Channels[1].Messages; len(ms) != 1 || ms[0].Content != "new" {
				t.Fatalf("poll %d: got %+v, want the new message in b", i, ms)
			}
		}
		wantEmpty(t, f.hub)
	})
}

func notAnswered(t *testing.T, ch <-chan answer) {
	t.Helper()
	synctest.Wait()
	select {
	case a := <-ch:
		t.Fatalf("got an answer (%v, %v), want the read still held", a.reason, a.err)
	default:
	}
}

func TestServiceTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 30*time.Second, 0, memengine.Options{})
		f.register(t, "a")
		newest := f.publish(t, "a", "x").ID
		start := time.Now()
		ch := f.hold(context.Background(), comet.ReadQuery{Channels: []string{"a"}, Since: 1 << 62})
		f.wantHeld(t, 1)
		// Not before its time, and at most the slack after it (holds that
		// end within the slack of each other time out together).
		slack := comet.HoldSlack(30 * time.Second)
		time.Sleep(30*time.Second - time.Nanosecond)
		notAnswered(t, ch)
		time.Sleep(time.Nanosecond + slack)
		a := got(t, ch)
		if took := a.at.Sub(start); a.err != nil || a.reason != comet.WakeTimeout || took < 30*time.Second || took > 30*time.Second+slack {
			t.Fatalf("got (%v, %v) after %v, want (timeout, nil) after 30s (at most %v later)", a.reason, a.err, took, slack)
		}
		// since above the newest id was taken as the newest id.
		if a.res.Since != newest || a.res.LastID != newest || a.res.HasMessages() || len(a.res.Channels) != 1 {
			t.Fatalf("got %+v, want since = last_id = %d, channel a with no messages", a.res, newest)
		}
		wantEmpty(t, f.hub)
	})
}

func TestServiceDelete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 30*time.Second, 0, memengine.Options{})
		f.register(t, "a", "b")
		since := f.publish(t, "a", "x").ID
		both := f.hold(context.Background(), comet.ReadQuery{Channels: []string{"a", "b"}, Since: since})
		onlyA := f.hold(context.Background(), comet.ReadQuery{Channels: []string{"a"}, Since: since})
		onlyB := f.hold(context.Background(), comet.ReadQuery{Channels: []string{"b"}, Since: since})
		f.wantHeld(t, 3)
		time.Sleep(time.Second)
		if removed, err := f.e.DeleteChannel(context.Background(), "a"); !removed || err != nil {
			t.Fatalf("DeleteChannel: got (%v, %v), want (true, nil)", removed, err)
		}
		a := got(t, both)
		if a.err != nil || a.reason != comet.WakeDeleted {
			t.Fatalf("poll on a|b: got (%v, %v), want (delete, nil)", a.reason, a.err)
		}
		if n := chanNames(a.res); len(n) != 1 || n[0] != "b" {
			t.Fatalf("poll on a|b: got channels %q, want [b] (the deleted one left out)", n)
		}
		a = got(t, onlyA)
		if a.err != nil || a.reason != comet.WakeDeleted || len(a.res.Channels) != 0 || a.res.Since != since || a.res.LastID < since {
			t.Fatalf("poll on a: got (%+v, %v, %v), want an empty result with since %d", a.res, a.reason, a.err, since)
		}
		notAnswered(t, onlyB)
		f.wantHeld(t, 1)
		f.hub.Shutdown()
		a = got(t, onlyB)
		if a.err != nil || a.reason != comet.WakeShutdown || len(a.res.Channels) != 1 {
			t.Fatalf("poll on b at shutdown: got (%+v, %v, %v), want (b empty, shutdown, nil)", a.res, a.reason, a.err)
		}
		wantEmpty(t, f.hub)
	})
}

func TestServiceShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 30*time.Second, 0, memengine.Options{})
		f.register(t, "a")
		chs := []<-chan answer{
			f.hold(context.Background(), comet.ReadQuery{Channels: []string{"a"}, Since: 1 << 62}),
			f.hold(context.Background(), comet.ReadQuery{Channels: []string{"a"}, Since: 1 << 62}),
		}
		f.wantHeld(t, 2)
		start := time.Now()
		f.hub.Shutdown()
		for i, ch := range chs {
			a := got(t, ch)
			if a.err != nil || a.reason != comet.WakeShutdown || !a.at.Equal(start) {
				t.Fatalf("poll %d: got (%v, %v) after %v, want (shutdown, nil) at once", i, a.reason, a.err, a.at.Sub(start))
			}
		}
		// After shutdown a read with nothing new is answered at once.
		a := got(t, f.hold(context.Background(), comet.ReadQuery{Channels: []string{"a"}, Since: 1 << 62}))
		if a.err != nil || a.reason != comet.WakeShutdown || len(a.res.Channels) != 1 {
			t.Fatalf("read after shutdown: got (%+v, %v, %v), want (a empty, shutdown, nil)", a.res, a.reason, a.err)
		}
		wantEmpty(t, f.hub)
	})
}

func TestServiceClientGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 30*time.Second, 0, memengine.Options{})
		f.register(t, "a", "b")
		ctx, cancel := context.WithCancel(context.Background())
		ch := f.hold(ctx, comet.ReadQuery{Channels: []string{"a", "b"}, Since: 1 << 62})
		f.wantHeld(t, 1)
		cancel()
		a := got(t, ch)
		if a.reason != comet.WakeGone || !errors.Is(a.err, context.Canceled) {
			t.Fatalf("got (%v, %v), want (gone, %v)", a.reason, a.err, context.Canceled)
		}
		wantEmpty(t, f.hub)
		// Publishing afterwards finds no one.
		f.publish(t, "a", "late")
		wantEmpty(t, f.hub)
	})
}

func TestServiceCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 30*time.Second, 1, memengine.Options{})
		f.register(t, "a")
		first := f.hold(context.Background(), comet.ReadQuery{Channels: []string{"a"}, Since: 1 << 62})
		f.wantHeld(t, 1)
		a := got(t, f.hold(context.Background(), comet.ReadQuery{Channels: []string{"a"}, Since: 1 << 62}))
		if !errors.Is(a.err, comet.ErrCapacity) {
			t.Fatalf("second held read with max 1: got (%v, %v), want %v", a.reason, a.err, comet.ErrCapacity)
		}
		// A read with something to answer needs no slot.
		f.publish(t, "a", "x")
		a = got(t, first)
		if a.reason != comet.WakeMessage {
			t.Fatalf("first: got %v, want message", a.reason)
		}
		a = got(t, f.hold(context.Background(), comet.ReadQuery{Channels: []string{"a"}}))
		if a.err != nil || a.reason != comet.WakeNone {
			t.Fatalf("read with messages: got (%v, %v), want (none, nil)", a.reason, a.err)
		}
		wantEmpty(t, f.hub)
	})
}

// A held poll keeps its channel and client alive through a hold longer than
// both timeouts; once no one holds them they expire.
func TestServiceKeepsHeldAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 300*time.Second, 0, memengine.Options{ChannelTimeout: 90 * time.Second, SessionTimeout: 60 * time.Second})
		f.register(t, "held", "idle")
		if err := f.e.RegisterClient(context.Background(), "me"); err != nil {
			t.Fatal(err)
		}
		ch := f.hold(context.Background(), comet.ReadQuery{Channels: []string{"held"}, ClientID: "me", HasClient: true, Since: 1 << 62})
		time.Sleep(299 * time.Second)
		notAnswered(t, ch)
		if _, err := f.e.Publish(context.Background(), "idle", "x"); !errors.Is(err, comet.ErrNoChannel) {
			t.Fatalf("publish to an unheld channel after 299s: got %v, want %v", err, comet.ErrNoChannel)
		}
		time.Sleep(time.Second + comet.HoldSlack(300*time.Second))
		a := got(t, ch)
		if a.err != nil || a.reason != comet.WakeTimeout || len(a.res.Channels) != 1 {
			t.Fatalf("held 300s: got (%+v, %v, %v), want (held empty, timeout, nil)", a.res, a.reason, a.err)
		}
		time.Sleep(61 * time.Second)
		synctest.Wait()
		_, err := f.e.Read(context.Background(), comet.ReadQuery{Channels: []string{"held"}, ClientID: "me", HasClient: true})
		if !errors.Is(err, comet.ErrUnknownClient) {
			t.Fatalf("read 61s after the hold: got %v, want %v", err, comet.ErrUnknownClient)
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if _, err := f.e.Publish(context.Background(), "held", "x"); !errors.Is(err, comet.ErrNoChannel) {
			t.Fatalf("publish 91s after the hold: got %v, want %v", err, comet.ErrNoChannel)
		}
	})
}

// A channel that expires while a poll is held on it (no keep-alive here)
// wakes the poll, which gets the empty answer, not an error.
func TestServiceChannelExpiresWhileHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := comet.NewHub(0)
		e := memengine.New(memengine.Options{ChannelTimeout: 10 * time.Second, SessionTimeout: 60 * time.Second}, hub)
		svc := comet.NewService(e, hub, 300*time.Second, 0)
		defer e.Close()
		defer svc.Close()
		ctx := context.Background()
		e.RegisterChannel(ctx, "a", comet.ChannelOptions{})
		ch := make(chan answer, 1)
		go func() {
			res, r, err := svc.Read(ctx, comet.ReadQuery{Channels: []string{"a"}, Since: 1 << 62})
			ch <- answer{res, r, err, time.Now()}
		}()
		time.Sleep(20 * time.Second) // the channel expires: the sweep wakes the poll
		synctest.Wait()
		select {
		case a := <-ch:
			if a.err != nil || a.reason != comet.WakeDeleted || len(a.res.Channels) != 0 {
				t.Fatalf("got (%+v, %v, %v), want (empty, delete, nil)", a.res, a.reason, a.err)
			}
		default:
			t.Fatal("the poll on an expired channel was not answered")
		}
		if hub.Held() != 0 {
			t.Fatalf("held: got %d, want 0", hub.Held())
		}
	})
}

// A client that expires during a hold (no keep-alive here) gets the empty
// answer at the timeout, not -3.
func TestServiceClientExpiresWhileHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := comet.NewHub(0)
		e := memengine.New(memengine.Options{SessionTimeout: 10 * time.Second}, hub)
		svc := comet.NewService(e, hub, 30*time.Second, 0)
		defer e.Close()
		defer svc.Close()
		ctx := context.Background()
		e.RegisterChannel(ctx, "a", comet.ChannelOptions{})
		e.RegisterClient(ctx, "me")
		f := &fixture{svc: svc, e: e, hub: hub}
		ch := f.hold(ctx, comet.ReadQuery{Channels: []string{"a"}, ClientID: "me", HasClient: true, Since: 1 << 62})
		time.Sleep(30*time.Second + comet.HoldSlack(30*time.Second))
		a := got(t, ch)
		if a.err != nil || a.reason != comet.WakeTimeout || len(a.res.Channels) != 0 || a.res.Since == 0 {
			t.Fatalf("got (%+v, %v, %v), want (empty with since, timeout, nil)", a.res, a.reason, a.err)
		}
		wantEmpty(t, hub)
	})
}

var keepAliveCases = []struct {
	name             string
	channel, session time.Duration
	want             time.Duration
}{
	{"nothing expires", 0, 0, 0},
	{"a quarter of the shorter", 90 * time.Second, 60 * time.Second, 10 * time.Second},
	{"only channels", 8 * time.Second, 0, 2 * time.Second},
	{"at least 10ms", 0, 20 * time.Millisecond, 10 * time.Millisecond},
	{"at most 10s", 0, time.Hour, 10 * time.Second},
}

func TestKeepAliveInterval(t *testing.T) {
	for _, c := range keepAliveCases {
		t.Run(c.name, func(t *testing.T) {
			if got := comet.KeepAliveInterval(c.channel, c.session); got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

// With every slot taken, a read that has something to answer is still
// answered: Begin's watch-first path falls back to reading first.
func TestServiceFullHubAnswersWhatIsThere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, 30*time.Second, 1, memengine.Options{})
		f.register(t, "a", "b")
		held := f.hold(context.Background(), comet.ReadQuery{Channels: []string{"a"}, Since: 1 << 62})
		f.wantHeld(t, 1)
		m := f.publish(t, "b", "x")
		a := got(t, f.hold(context.Background(), comet.ReadQuery{Channels: []string{"b"}}))
		if a.err != nil || a.reason != comet.WakeNone || a.res.LastID != m.ID {
			t.Fatalf("read with a message, hub full: got (%v, %v, last_id %d), want (none, nil, %d)", a.reason, a.err, a.res.LastID, m.ID)
		}
		f.wantHeld(t, 1)
		f.publish(t, "a", "y")
		if a := got(t, held); a.reason != comet.WakeMessage {
			t.Fatalf("held read: got %v, want message", a.reason)
		}
		wantEmpty(t, f.hub)
	})
}
