package comet_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/memengine"
)

// wakes records what a hold's owner was told.
type wakes struct {
	mu      sync.Mutex
	reasons []comet.WakeReason
}

func (w *wakes) Wake(r comet.WakeReason) {
	w.mu.Lock()
	w.reasons = append(w.reasons, r)
	w.mu.Unlock()
}

func (w *wakes) got() []comet.WakeReason {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]comet.WakeReason(nil), w.reasons...)
}

// The Hold's life, each way it can go: answered at once, failed, woken
// before and after its owner awaits, timed out, cancelled.
func TestHoldLifecycle(t *testing.T) {
	const timeout = 30 * time.Second
	far := comet.ReadQuery{Channels: []string{"a"}, Since: 1 << 62}
	begin := func(t *testing.T, f *fixture, q comet.ReadQuery) (*comet.Hold, *wakes) {
		t.Helper()
		var h comet.Hold
		w := &wakes{}
		if out, err := f.svc.Begin(context.Background(), &h, q, w); out != comet.Waiting || err != nil {
			t.Fatalf("Begin: got (%v, %v), want waiting", out, err)
		}
		return &h, w
	}
	finish := func(t *testing.T, f *fixture, h *comet.Hold, want comet.WakeReason, messages int) {
		t.Helper()
		res, reason := f.svc.Finish(context.Background(), h)
		n := 0
		for _, c := range res.Channels {
			n += len(c.Messages)
		}
		if reason != want || n != messages {
			t.Fatalf("Finish: got (%v, %d messages), want (%v, %d)", reason, n, want, messages)
		}
		if f.hub.Held() != 0 || f.svc.Timing() != 0 {
			t.Fatalf("after Finish: %d held, %d timing; want none", f.hub.Held(), f.svc.Timing())
		}
	}
	cases := []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"answered at once", func(t *testing.T, f *fixture) {
			f.publish(t, "a", "x")
			var h comet.Hold
			w := &wakes{}
			if out, err := f.svc.Begin(context.Background(), &h, comet.ReadQuery{Channels: []string{"a"}}, w); out != comet.Answered || err != nil {
				t.Fatalf("Begin: got (%v, %v), want answered", out, err)
			}
			finish(t, f, &h, comet.WakeNone, 1)
			if len(w.got()) != 0 || !h.Reusable() {
				t.Fatalf("told %v, reusable %v; want nothing told, reusable", w.got(), h.Reusable())
			}
		}},
		{"failed", func(t *testing.T, f *fixture) {
			var h comet.Hold
			q := comet.ReadQuery{Channels: []string{"a"}, ClientID: "nobody", HasClient: true}
			if out, err := f.svc.Begin(context.Background(), &h, q, &wakes{}); out != comet.Failed || !errors.Is(err, comet.ErrUnknownClient) {
				t.Fatalf("Begin: got (%v, %v), want failed with %v", out, err, comet.ErrUnknownClient)
			}
			wantEmpty(t, f.hub)
		}},
		{"woken before Await", func(t *testing.T, f *fixture) {
			h, w := begin(t, f, far)
			f.publish(t, "a", "x")
			if !h.Await() {
				t.Fatal("Await: got not woken, want woken")
			}
			synctest.Wait()
			if got := w.got(); len(got) != 0 {
				t.Fatalf("told %v, want nothing (Await said it)", got)
			}
			finish(t, f, h, comet.WakeMessage, 1)
		}},
		{"woken after Await", func(t *testing.T, f *fixture) {
			h, w := begin(t, f, far)
			if h.Await() {
				t.Fatal("Await: got woken, want waiting")
			}
			f.publish(t, "a", "x")
			f.publish(t, "a", "y")
			if got := w.got(); len(got) != 1 || got[0] != comet.WakeMessage {
				t.Fatalf("told %v, want one message", got)
			}
			finish(t, f, h, comet.WakeMessage, 2)
			if !h.Reusable() {
				t.Fatal("woken by a publish: got not reusable, want reusable")
			}
		}},
		{"timed out", func(t *testing.T, f *fixture) {
			h, w := begin(t, f, far)
			h.Await()
			time.Sleep(timeout - time.Nanosecond)
			synctest.Wait()
			if got := w.got(); len(got) != 0 {
				t.Fatalf("told %v before the timeout, want nothing", got)
			}
			time.Sleep(time.Nanosecond + comet.HoldSlack(timeout))
			synctest.Wait()
			if got := w.got(); len(got) != 1 || got[0] != comet.WakeTimeout {
				t.Fatalf("told %v, want one timeout", got)
			}
			finish(t, f, h, comet.WakeTimeout, 0)
			if h.Reusable() {
				t.Fatal("timed out: got reusable, want not (the expiry's wake may still run)")
			}
		}},
		{"cancelled", func(t *testing.T, f *fixture) {
			h, w := begin(t, f, far)
			h.Await()
			if !f.svc.Cancel(h) {
				t.Fatal("Cancel of a waiting hold: got false, want true")
			}
			wantEmpty(t, f.hub)
			f.publish(t, "a", "x")
			time.Sleep(2 * timeout)
			synctest.Wait()
			if got := w.got(); len(got) != 0 {
				t.Fatalf("told %v after Cancel, want nothing", got)
			}
			if f.svc.Timing() != 0 || !h.Reusable() {
				t.Fatalf("after Cancel: %d timing, reusable %v; want none, reusable", f.svc.Timing(), h.Reusable())
			}
		}},
		{"cancelled after its wake", func(t *testing.T, f *fixture) {
			h, _ := begin(t, f, far)
			h.Await()
			f.publish(t, "a", "x")
			if h.Reason() != comet.WakeMessage || f.svc.Cancel(h) {
				t.Fatalf("reason %v; Cancel after the wake: got true, want false", h.Reason())
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, timeout, 0, memengine.Options{})
				f.register(t, "a")
				c.run(t, f)
			})
		})
	}
}
