package comet_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/simple-comet/simple-comet/internal/comet"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pending returns the wake reason waiting on p, or WakeNone.
func pending(p *comet.Poll) comet.WakeReason {
	select {
	case r := <-p.Wake():
		return r
	default:
		return comet.WakeNone
	}
}

func wantEmpty(t testing.TB, h *comet.Hub) {
	t.Helper()
	if h.Held() != 0 || h.Watched() != 0 {
		t.Fatalf("hub: got %d held, %d channels watched; want 0 and 0", h.Held(), h.Watched())
	}
	if chs, cls := h.Active(); len(chs) != 0 || len(cls) != 0 {
		t.Fatalf("hub Active: got %q %q, want nothing", chs, cls)
	}
}

func TestHubAddRemove(t *testing.T) {
	h := comet.NewHub(0)
	p1 := comet.NewPoll([]string{"a", "b"}, "", false)
	p2 := comet.NewPoll([]string{"b", "c"}, "me", true)
	for _, p := range []*comet.Poll{p1, p2} {
		if err := h.Add(p); err != nil {
			t.Fatalf("Add: got %v, want nil", err)
		}
	}
	if h.Held() != 2 || h.Watched() != 3 {
		t.Fatalf("got %d held, %d watched; want 2 and 3", h.Held(), h.Watched())
	}
	chs, cls := h.Active()
	slices.Sort(chs)
	if !slices.Equal(chs, []string{"a", "b", "c"}) || !slices.Equal(cls, []string{"me"}) {
		t.Fatalf("Active: got %q %q, want [a b c] [me]", chs, cls)
	}
	h.Remove(p1)
	if h.Held() != 1 || h.Watched() != 2 {
		t.Fatalf("after one Remove: got %d held, %d watched; want 1 and 2", h.Held(), h.Watched())
	}
	h.Remove(p1) // twice: harmless
	if h.Held() != 1 {
		t.Fatalf("after a second Remove: got %d held, want 1", h.Held())
	}
	h.Remove(p2)
	wantEmpty(t, h)
	// A poll that was never added.
	h.Remove(comet.NewPoll([]string{"x"}, "", false))
	wantEmpty(t, h)
}

var hubNotifyCases = []struct {
	name   string
	notify func(h *comet.Hub)
	wantA  comet.WakeReason // the poll on [a]
	wantAB comet.WakeReason // the poll on [a b]
	wantC  comet.WakeReason // the poll on [c]
}{
	{"message on a", func(h *comet.Hub) { h.Notify("a", comet.WakeMessage) }, comet.WakeMessage, comet.WakeMessage, comet.WakeNone},
	{"message on b", func(h *comet.Hub) { h.Notify("b", comet.WakeMessage) }, comet.WakeNone, comet.WakeMessage, comet.WakeNone},
	{"delete of c", func(h *comet.Hub) { h.Notify("c", comet.WakeDeleted) }, comet.WakeNone, comet.WakeNone, comet.WakeDeleted},
	{"unwatched channel", func(h *comet.Hub) { h.Notify("zzz", comet.WakeMessage) }, comet.WakeNone, comet.WakeNone, comet.WakeNone},
	{"notify all", func(h *comet.Hub) { h.NotifyAll(comet.WakeResync) }, comet.WakeResync, comet.WakeResync, comet.WakeResync},
	// Wakes coalesce: the first pending reason stays, later ones do not block.
	{"coalesced", func(h *comet.Hub) {
		h.Notify("a", comet.WakeMessage)
		h.Notify("a", comet.WakeDeleted)
		h.Notify("b", comet.WakeMessage)
		h.NotifyAll(comet.WakeEngineDown)
	}, comet.WakeMessage, comet.WakeMessage, comet.WakeEngineDown},
}

func TestHubNotify(t *testing.T) {
	for _, c := range hubNotifyCases {
		t.Run(c.name, func(t *testing.T) {
			h := comet.NewHub(0)
			pa := comet.NewPoll([]string{"a"}, "", false)
			pab := comet.NewPoll([]string{"a", "b"}, "", false)
			pc := comet.NewPoll([]string{"c"}, "", false)
			for _, p := range []*comet.Poll{pa, pab, pc} {
				if err := h.Add(p); err != nil {
					t.Fatal(err)
				}
			}
			c.notify(h)
			for _, w := range []struct {
				name string
				p    *comet.Poll
				want comet.WakeReason
			}{{"[a]", pa, c.wantA}, {"[a b]", pab, c.wantAB}, {"[c]", pc, c.wantC}} {
				if got := pending(w.p); got != w.want {
					t.Errorf("poll %s: got wake %v, want %v", w.name, got, w.want)
				}
				if got := pending(w.p); got != comet.WakeNone {
					t.Errorf("poll %s: got a second pending wake %v, want none (capacity 1)", w.name, got)
				}
			}
		})
	}
}

func TestHubCapacity(t *testing.T) {
	h := comet.NewHub(2)
	p1 := comet.NewPoll([]string{"a"}, "", false)
	p2 := comet.NewPoll([]string{"a"}, "", false)
	p3 := comet.NewPoll([]string{"b"}, "", false)
	if err := h.Add(p1); err != nil {
		t.Fatal(err)
	}
	if err := h.Add(p2); err != nil {
		t.Fatal(err)
	}
	if err := h.Add(p3); !errors.Is(err, comet.ErrCapacity) {
		t.Fatalf("third Add with max 2: got %v, want %v", err, comet.ErrCapacity)
	}
	if h.Held() != 2 || h.Watched() != 1 {
		t.Fatalf("a refused Add left entries: got %d held, %d watched; want 2 and 1", h.Held(), h.Watched())
	}
	h.Remove(p3) // never added: must not free a slot
	if err := h.Add(p3); !errors.Is(err, comet.ErrCapacity) {
		t.Fatalf("Add after removing a poll never added: got %v, want %v", err, comet.ErrCapacity)
	}
	h.Remove(p1)
	if err := h.Add(p3); err != nil {
		t.Fatalf("Add after a Remove: got %v, want nil", err)
	}
	h.Remove(p2)
	h.Remove(p3)
	wantEmpty(t, h)
}

func TestHubShutdown(t *testing.T) {
	h := comet.NewHub(0)
	p1 := comet.NewPoll([]string{"a"}, "", false)
	p2 := comet.NewPoll([]string{"b", "c"}, "", false)
	h.Add(p1)
	h.Add(p2)
	h.Shutdown()
	for i, p := range []*comet.Poll{p1, p2} {
		if got := pending(p); got != comet.WakeShutdown {
			t.Fatalf("poll %d: got %v, want %v", i, got, comet.WakeShutdown)
		}
	}
	if err := h.Add(comet.NewPoll([]string{"a"}, "", false)); !errors.Is(err, comet.ErrClosed) {
		t.Fatalf("Add after Shutdown: got %v, want %v", err, comet.ErrClosed)
	}
	h.Shutdown() // twice: harmless
	h.Remove(p1)
	h.Remove(p2)
	wantEmpty(t, h)
}

// Many goroutines adding, notifying and removing leave nothing behind.
func TestHubConcurrent(t *testing.T) {
	h := comet.NewHub(0)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				p := comet.NewPoll([]string{fmt.Sprint("c", i%7), fmt.Sprint("g", g)}, fmt.Sprint("cl", g), true)
				if err := h.Add(p); err != nil {
					t.Error(err)
					return
				}
				h.Notify(fmt.Sprint("c", (i+1)%7), comet.WakeMessage)
				h.Active()
				h.Remove(p)
			}
		})
	}
	wg.Wait()
	wantEmpty(t, h)
}

func TestWakeReasonString(t *testing.T) {
	for r, want := range map[comet.WakeReason]string{
		comet.WakeNone: "none", comet.WakeMessage: "message", comet.WakeTimeout: "timeout",
		comet.WakeDeleted: "delete", comet.WakeShutdown: "shutdown", comet.WakeGone: "gone",
		comet.WakeReason(200): "unknown",
	} {
		if got := r.String(); got != want {
			t.Errorf("WakeReason(%d): got %q, want %q", r, got, want)
		}
	}
}

// A poll that names a channel twice, or is added twice, is woken and
// removed like any other and leaves nothing behind.
func TestHubRepeats(t *testing.T) {
	h := comet.NewHub(0)
	p := comet.NewPoll([]string{"a", "b", "a"}, "", false)
	other := comet.NewPoll([]string{"a"}, "", false)
	for _, q := range []*comet.Poll{p, p, other} {
		if err := h.Add(q); err != nil {
			t.Fatalf("Add: got %v, want nil", err)
		}
	}
	wantCounts(t, h, 2, 2, "after Add")
	h.Notify("a", comet.WakeMessage)
	wantPending(t, p, comet.WakeMessage, "poll on a twice")
	wantPending(t, other, comet.WakeMessage, "other poll on a")
	h.Remove(p)
	wantCounts(t, h, 1, 1, "after Remove")
	h.Notify("a", comet.WakeDeleted)
	wantPending(t, p, comet.WakeNone, "removed poll")
	wantPending(t, other, comet.WakeDeleted, "other poll after the first left")
	h.Remove(other)
	wantEmpty(t, h)
}

func wantCounts(t *testing.T, h *comet.Hub, held, watched int, when string) {
	t.Helper()
	if h.Held() != held || h.Watched() != watched {
		t.Fatalf("%s: got %d held, %d watched; want %d and %d", when, h.Held(), h.Watched(), held, watched)
	}
}

func wantPending(t *testing.T, p *comet.Poll, want comet.WakeReason, what string) {
	t.Helper()
	if r := pending(p); r != want {
		t.Fatalf("%s: got %v, want %v", what, r, want)
	}
}

// A Notify wakes a poll with a Waker once and lets it go (it is answered
// once); a poll with a channel stays until removed. A Waker poll that names
// the channel twice, next to another, does not stop the walk.
func TestHubLetsWakerPollsGo(t *testing.T) {
	h := comet.NewHub(0)
	woken := map[string][]comet.WakeReason{}
	waker := func(name string) *comet.Poll {
		return comet.NewPollFunc([]string{"a", "b", "a"}, "", false, func(r comet.WakeReason) {
			woken[name] = append(woken[name], r) // under the Hub's lock
		})
	}
	w1, w2 := waker("w1"), waker("w2")
	ch := comet.NewPoll([]string{"a"}, "", false)
	for _, p := range []*comet.Poll{w1, ch, w2} {
		if err := h.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	h.Notify("a", comet.WakeMessage)
	if len(woken["w1"]) != 1 || len(woken["w2"]) != 1 {
		t.Fatalf("after one Notify: woken %v, want each Waker poll once", woken)
	}
	wantPending(t, ch, comet.WakeMessage, "channel poll")
	wantCounts(t, h, 1, 1, "after Notify (the channel poll only)")
	h.Notify("b", comet.WakeMessage)
	h.Notify("a", comet.WakeDeleted)
	if len(woken["w1"]) != 1 || len(woken["w2"]) != 1 {
		t.Fatalf("after more Notifies: woken %v, want no more wakes of polls let go", woken)
	}
	wantPending(t, ch, comet.WakeDeleted, "channel poll, again")
	h.Remove(w1) // let go already: nothing happens
	h.Remove(ch)
	wantEmpty(t, h)
	// NotifyAll keeps a Waker poll: shutdown and resync may wake it again.
	w3 := waker("w3")
	if err := h.Add(w3); err != nil {
		t.Fatal(err)
	}
	h.NotifyAll(comet.WakeResync)
	if h.Held() != 1 {
		t.Fatalf("after NotifyAll: got %d held, want 1", h.Held())
	}
	h.Remove(w3)
	wantEmpty(t, h)
}
