package integration

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

// holdBound is the generous bound within which a held poll must be
// released once its cause happened; timing is never asserted tighter.
const holdBound = 10 * time.Second

// holdPoll starts a poll that has nothing to return yet and waits until
// the server holds it (held_connections_count reaches want).
func holdPoll(t *testing.T, s *server.Server, path string, want int64) <-chan result {
	t.Helper()
	ch := async(t.Context(), s.URL, "GET", path)
	eventually(t, "the poll is held", holdBound, func() bool { return heldCount(t, s) >= want })
	return ch
}

func TestPublishWakesHeldPolls(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--enable-status", "--http-timeout=60")
		registerChannel(t, s, "a")
		registerChannel(t, s, "b")
		since := publish(t, s, "a", "old") // polls since it have nothing to return
		polls := []<-chan result{
			holdPoll(t, s, "/channels/"+list("a", "b")+".json?since="+itoa(since), 1),
			holdPoll(t, s, "/channels/b.json?since="+itoa(since), 2),
			holdPoll(t, s, "/channels/"+list("b", "missing")+".jsonp?cb=_JSONP_w&since="+itoa(since), 3),
		}
		other := holdPoll(t, s, "/channels/a.json?since="+itoa(since), 4)
		id := publish(t, s, "b", "wake up")
		for i, p := range polls {
			r := wait(t, p, holdBound)
			var msgs []message
			if i == 2 {
				m := jsonp(t, r, "_JSONP_w")
				if num(t, m["last_id"]) != id {
					t.Fatalf("poll %d: got %v, want last_id %d", i, m, id)
				}
				continue
			}
			rr := r.read(t)
			msgs = rr.Messages["b"]
			if len(msgs) != 1 || msgs[0].ID != id || rr.LastID != id || rr.Since != since {
				t.Fatalf("poll %d: got %+v, want the message %d, since %d", i, rr, id, since)
			}
		}
		stillHeld(t, other, 300*time.Millisecond)
		if n := heldCount(t, s); n != 1 {
			t.Fatalf("held after the wake: got %d, want 1", n)
		}
		publish(t, s, "a", "now you")
		if rr := wait(t, other, holdBound).read(t); len(rr.Messages["a"]) != 1 {
			t.Fatalf("poll on a: got %v, want one message", rr.Messages)
		}
	})
}

func TestHoldTimeout(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--http-timeout=1")
		registerChannel(t, s, "a")
		start := time.Now()
		r := get(t, s, "/channels/a.json?since=9000000000000000000")
		took := time.Since(start)
		rr := r.read(t)
		if took < 900*time.Millisecond {
			t.Fatalf("held read answered after %v, want about --http-timeout=1s", took)
		}
		if len(rr.Messages) != 1 || len(rr.Messages["a"]) != 0 || rr.Since != rr.LastID {
			t.Fatalf("timed-out read: got %+v, want a: [] and since = last_id", rr)
		}
	})
}

func TestDeleteReleasesHeldPolls(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--enable-status", "--http-timeout=60")
		registerChannel(t, s, "a")
		registerChannel(t, s, "b")
		both := holdPoll(t, s, "/channels/"+list("a", "b")+".json?since=9000000000000000000", 1)
		onlyA := holdPoll(t, s, "/channels/a.json?since=9000000000000000000", 2)
		onlyB := holdPoll(t, s, "/channels/b.json?since=9000000000000000000", 3)
		del(t, s, "/channels/a.json").wantCode(t, 2)
		rr := wait(t, both, holdBound).read(t)
		if _, ok := rr.Messages["a"]; ok || len(rr.Messages) != 1 {
			t.Fatalf("poll on a|b after deleting a: got %v, want only b", rr.Messages)
		}
		rr = wait(t, onlyA, holdBound).read(t)
		if len(rr.Messages) != 0 {
			t.Fatalf("poll on a after deleting a: got %v, want no channels", rr.Messages)
		}
		stillHeld(t, onlyB, 300*time.Millisecond)
		del(t, s, "/channels/b.json").wantCode(t, 2)
		wait(t, onlyB, holdBound).read(t)
		eventually(t, "held back to 0", holdBound, func() bool { return heldCount(t, s) == 0 })
	})
}

func TestShutdownAnswersHeldPolls(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--enable-status", "--http-timeout=60")
		registerChannel(t, s, "a")
		var polls []<-chan result
		for i := range 5 {
			polls = append(polls, holdPoll(t, s, "/channels/a.json?since=9000000000000000000", int64(i+1)))
		}
		start := time.Now()
		exited := make(chan error, 1)
		go func() { exited <- s.Stop() }()
		for i, p := range polls {
			rr := wait(t, p, holdBound).read(t)
			if len(rr.Messages["a"]) != 0 || rr.LastID < rr.Since {
				t.Fatalf("poll %d at shutdown: got %+v, want the empty result", i, rr)
			}
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("exit: got %v, want status 0\n%s", err, s.Log())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the server did not exit within 15s of SIGTERM")
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("shutdown took %v, want a few seconds", d)
		}
	})
}

func TestClientHangUpLeavesNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--enable-status", "--http-timeout=60")
		registerChannel(t, s, "a")
		ctx, cancel := context.WithCancel(t.Context())
		ch := async(ctx, s.URL, "GET", "/channels/a.json?since=9000000000000000000")
		eventually(t, "held", holdBound, func() bool { return heldCount(t, s) == 1 })
		cancel()
		<-ch
		eventually(t, "held back to 0 after the hang-up", holdBound, func() bool { return heldCount(t, s) == 0 })
		// The server is fine afterwards.
		publish(t, s, "a", "x")
	})
}

func TestExpiry(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Run("session", func(t *testing.T) {
			t.Parallel()
			s := e.start(t, "--session-timeout=1", "--http-timeout=1")
			registerChannel(t, s, "a")
			publish(t, s, "a", "x")
			registerClient(t, s, "idle")
			registerClient(t, s, "busy")
			end := time.Now().Add(2500 * time.Millisecond)
			for time.Now().Before(end) {
				get(t, s, "/channels/a.json?client_id=busy").wantCode(t, 1)
				time.Sleep(100 * time.Millisecond)
			}
			get(t, s, "/channels/a.json?client_id=idle").wantCode(t, -3)
			get(t, s, "/channels/a.json?client_id=busy").wantCode(t, 1)
			// An expired id may register again.
			registerClient(t, s, "idle")
		})
		t.Run("channel", func(t *testing.T) {
			t.Parallel()
			s := e.start(t, "--inactive-channel-timeout=1", "--http-timeout=1")
			registerChannel(t, s, "idle")
			registerChannel(t, s, "read")
			end := time.Now().Add(2500 * time.Millisecond)
			for time.Now().Before(end) {
				// Publishing does not keep a channel alive; reading does.
				post(t, s, "/channels/idle.json", url.Values{"content": {"x"}})
				publish(t, s, "read", "x")
				get(t, s, "/channels/read.json").wantCode(t, 1)
				time.Sleep(100 * time.Millisecond)
			}
			post(t, s, "/channels/idle.json", url.Values{"content": {"x"}}).wantCode(t, -2)
			publish(t, s, "read", "still here")
			registerChannel(t, s, "idle") // expired: may register again
		})
		t.Run("held poll keeps its channel and client alive", func(t *testing.T) {
			t.Parallel()
			s := e.start(t, "--inactive-channel-timeout=1", "--session-timeout=1", "--http-timeout=3", "--enable-status")
			registerChannel(t, s, "held")
			registerChannel(t, s, "unheld")
			registerClient(t, s, "me")
			r := get(t, s, "/channels/held.json?client_id=me&since=9000000000000000000") // held 3s
			r.read(t)
			publish(t, s, "held", "alive after a 3s hold")
			get(t, s, "/channels/held.json?client_id=me").wantCode(t, 1)
			post(t, s, "/channels/unheld.json", url.Values{"content": {"x"}}).wantCode(t, -2)
		})
		t.Run("a held poll keeps every channel it watches alive", func(t *testing.T) {
			t.Parallel()
			// Held past the timeout, neither channel expires (no wake);
			// deleting one answers the poll without the other.
			s := e.start(t, "--inactive-channel-timeout=1", "--http-timeout=60", "--enable-status")
			registerChannel(t, s, "a")
			registerChannel(t, s, "b")
			p := holdPoll(t, s, "/channels/"+list("a", "b")+".json?since=9000000000000000000", 1)
			time.Sleep(2500 * time.Millisecond)
			stillHeld(t, p, 10*time.Millisecond)
			del(t, s, "/channels/a.json").wantCode(t, 2)
			if rr := wait(t, p, holdBound).read(t); len(rr.Messages) != 1 {
				t.Fatalf("got %v, want b only", rr.Messages)
			}
			publish(t, s, "b", "kept alive by the poll")
		})
	})
}
