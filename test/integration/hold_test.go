package integration

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

// holdBound is the generous bound within which a held poll must be
// released once its cause happened; timing is never asserted tighter.
const holdBound = 10 * time.Second

// holdPoll starts a poll that has nothing to return yet and waits until
// the server holds it (held_connections_count reaches want).
func holdPoll(t *testing.T, s *server.Server, path string, want int64) <-chan api.Result {
	t.Helper()
	ch := api.Async(t.Context(), s.URL, "GET", path)
	api.Eventually(t, "the poll is held", holdBound, func() bool { return api.Held(t, s.URL) >= want })
	return ch
}

func TestPublishWakesHeldPolls(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--enable-status", "--http-timeout=60")
		api.Register(t, s.URL, "a")
		api.Register(t, s.URL, "b")
		since := api.Publish(t, s.URL, "a", "old") // polls since it have nothing to return
		polls := []<-chan api.Result{
			holdPoll(t, s, "/channels/"+api.List("a", "b")+".json?since="+itoa(since), 1),
			holdPoll(t, s, "/channels/b.json?since="+itoa(since), 2),
			holdPoll(t, s, "/channels/"+api.List("b", "missing")+".jsonp?cb=_JSONP_w&since="+itoa(since), 3),
		}
		other := holdPoll(t, s, "/channels/a.json?since="+itoa(since), 4)
		id := api.Publish(t, s.URL, "b", "wake up")
		for i, p := range polls {
			r := api.Wait(t, p, holdBound)
			var msgs []api.Message
			if i == 2 {
				m := jsonp(t, r, "_JSONP_w")
				if api.Num(t, m["last_id"]) != id {
					t.Fatalf("poll %d: got %v, want last_id %d", i, m, id)
				}
				continue
			}
			rr := r.Read(t)
			msgs = rr.Messages["b"]
			if len(msgs) != 1 || msgs[0].ID != id || rr.LastID != id || rr.Since != since {
				t.Fatalf("poll %d: got %+v, want the message %d, since %d", i, rr, id, since)
			}
		}
		api.StillHeld(t, other, 300*time.Millisecond)
		if n := api.Held(t, s.URL); n != 1 {
			t.Fatalf("held after the wake: got %d, want 1", n)
		}
		api.Publish(t, s.URL, "a", "now you")
		if rr := api.Wait(t, other, holdBound).Read(t); len(rr.Messages["a"]) != 1 {
			t.Fatalf("poll on a: got %v, want one message", rr.Messages)
		}
	})
}

func TestHoldTimeout(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--http-timeout=1")
		api.Register(t, s.URL, "a")
		start := time.Now()
		r := api.Get(t, s.URL, "/channels/a.json?since=9000000000000000000")
		took := time.Since(start)
		rr := r.Read(t)
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
		api.Register(t, s.URL, "a")
		api.Register(t, s.URL, "b")
		both := holdPoll(t, s, "/channels/"+api.List("a", "b")+".json?since=9000000000000000000", 1)
		onlyA := holdPoll(t, s, "/channels/a.json?since=9000000000000000000", 2)
		onlyB := holdPoll(t, s, "/channels/b.json?since=9000000000000000000", 3)
		api.Delete(t, s.URL, "/channels/a.json").WantCode(t, 2)
		rr := api.Wait(t, both, holdBound).Read(t)
		if _, ok := rr.Messages["a"]; ok || len(rr.Messages) != 1 {
			t.Fatalf("poll on a|b after deleting a: got %v, want only b", rr.Messages)
		}
		rr = api.Wait(t, onlyA, holdBound).Read(t)
		if len(rr.Messages) != 0 {
			t.Fatalf("poll on a after deleting a: got %v, want no channels", rr.Messages)
		}
		api.StillHeld(t, onlyB, 300*time.Millisecond)
		api.Delete(t, s.URL, "/channels/b.json").WantCode(t, 2)
		api.Wait(t, onlyB, holdBound).Read(t)
		api.Eventually(t, "held back to 0", holdBound, func() bool { return api.Held(t, s.URL) == 0 })
	})
}

func TestShutdownAnswersHeldPolls(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--enable-status", "--http-timeout=60")
		api.Register(t, s.URL, "a")
		var polls []<-chan api.Result
		for i := range 5 {
			polls = append(polls, holdPoll(t, s, "/channels/a.json?since=9000000000000000000", int64(i+1)))
		}
		start := time.Now()
		exited := make(chan error, 1)
		go func() { exited <- s.Stop() }()
		for i, p := range polls {
			rr := api.Wait(t, p, holdBound).Read(t)
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
		api.Register(t, s.URL, "a")
		ctx, cancel := context.WithCancel(t.Context())
		ch := api.Async(ctx, s.URL, "GET", "/channels/a.json?since=9000000000000000000")
		api.Eventually(t, "held", holdBound, func() bool { return api.Held(t, s.URL) == 1 })
		cancel()
		<-ch
		api.Eventually(t, "held back to 0 after the hang-up", holdBound, func() bool { return api.Held(t, s.URL) == 0 })
		// The server is fine afterwards.
		api.Publish(t, s.URL, "a", "x")
	})
}

func TestExpiry(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Run("session", func(t *testing.T) {
			t.Parallel()
			s := e.start(t, "--session-timeout=1", "--http-timeout=1")
			api.Register(t, s.URL, "a")
			api.Publish(t, s.URL, "a", "x")
			api.RegisterClient(t, s.URL, "idle")
			api.RegisterClient(t, s.URL, "busy")
			end := time.Now().Add(2500 * time.Millisecond)
			for time.Now().Before(end) {
				api.Get(t, s.URL, "/channels/a.json?client_id=busy").WantCode(t, 1)
				time.Sleep(100 * time.Millisecond)
			}
			api.Get(t, s.URL, "/channels/a.json?client_id=idle").WantCode(t, -3)
			api.Get(t, s.URL, "/channels/a.json?client_id=busy").WantCode(t, 1)
			// An expired id may register again.
			api.RegisterClient(t, s.URL, "idle")
		})
		t.Run("channel", func(t *testing.T) {
			t.Parallel()
			s := e.start(t, "--inactive-channel-timeout=1", "--http-timeout=1")
			api.Register(t, s.URL, "idle")
			api.Register(t, s.URL, "read")
			end := time.Now().Add(2500 * time.Millisecond)
			for time.Now().Before(end) {
				// Publishing does not keep a channel alive; reading does.
				api.Post(t, s.URL, "/channels/idle.json", url.Values{"content": {"x"}})
				api.Publish(t, s.URL, "read", "x")
				api.Get(t, s.URL, "/channels/read.json").WantCode(t, 1)
				time.Sleep(100 * time.Millisecond)
			}
			api.Post(t, s.URL, "/channels/idle.json", url.Values{"content": {"x"}}).WantCode(t, -2)
			api.Publish(t, s.URL, "read", "still here")
			api.Register(t, s.URL, "idle") // expired: may register again
		})
		t.Run("held poll keeps its channel and client alive", func(t *testing.T) {
			t.Parallel()
			s := e.start(t, "--inactive-channel-timeout=1", "--session-timeout=1", "--http-timeout=3", "--enable-status")
			api.Register(t, s.URL, "held")
			api.Register(t, s.URL, "unheld")
			api.RegisterClient(t, s.URL, "me")
			r := api.Get(t, s.URL, "/channels/held.json?client_id=me&since=9000000000000000000") // held 3s
			r.Read(t)
			api.Publish(t, s.URL, "held", "alive after a 3s hold")
			api.Get(t, s.URL, "/channels/held.json?client_id=me").WantCode(t, 1)
			api.Post(t, s.URL, "/channels/unheld.json", url.Values{"content": {"x"}}).WantCode(t, -2)
		})
		t.Run("a held poll keeps every channel it watches alive", func(t *testing.T) {
			t.Parallel()
			// Held past the timeout, neither channel expires (no wake);
			// deleting one answers the poll without the other.
			s := e.start(t, "--inactive-channel-timeout=1", "--http-timeout=60", "--enable-status")
			api.Register(t, s.URL, "a")
			api.Register(t, s.URL, "b")
			p := holdPoll(t, s, "/channels/"+api.List("a", "b")+".json?since=9000000000000000000", 1)
			time.Sleep(2500 * time.Millisecond)
			api.StillHeld(t, p, 10*time.Millisecond)
			api.Delete(t, s.URL, "/channels/a.json").WantCode(t, 2)
			if rr := api.Wait(t, p, holdBound).Read(t); len(rr.Messages) != 1 {
				t.Fatalf("got %v, want b only", rr.Messages)
			}
			api.Publish(t, s.URL, "b", "kept alive by the poll")
		})
	})
}

// "Graceful shutdown on SIGINT/SIGTERM": TestShutdownAnswersHeldPolls
// covers SIGTERM; SIGINT must do the same.
func TestSIGINTAnswersHeldPolls(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--enable-status", "--http-timeout=60")
		api.Register(t, s.URL, "a")
		json := holdPoll(t, s, "/channels/a.json?since="+farSince, 1)
		jsonp := holdPoll(t, s, "/channels/a.jsonp?since="+farSince, 2)
		if err := s.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		rr := api.Wait(t, json, holdBound).Read(t)
		if len(rr.Messages["a"]) != 0 || rr.LastID < rr.Since {
			t.Fatalf("poll at SIGINT: got %+v, want the empty result", rr)
		}
		if b := string(api.Wait(t, jsonp, holdBound).Body); !strings.HasPrefix(b, "/**/_JSONP_comet_cb({") {
			t.Fatalf("JSON-P poll at SIGINT: got %q, want the callback", b)
		}
		select {
		case <-s.Exited():
		case <-time.After(15 * time.Second):
			t.Fatal("no exit within 15s of SIGINT")
		}
		if err := s.Stop(); err != nil {
			t.Fatalf("exit after SIGINT: got %v, want status 0\n%s", err, s.Log())
		}
	})
}
