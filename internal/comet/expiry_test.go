package comet

import (
	"sync"
	"testing"
	"time"
)

// wakeLog records when each waker was woken, and why.
type wakeLog struct {
	mu    sync.Mutex
	at    map[int]time.Time
	why   map[int]WakeReason
	count map[int]int
	all   chan struct{}
	want  int
}

func newWakeLog(want int) *wakeLog {
	return &wakeLog{at: map[int]time.Time{}, why: map[int]WakeReason{}, count: map[int]int{}, all: make(chan struct{}), want: want}
}

func (l *wakeLog) waker(i int) Waker {
	return WakeFunc(func(r WakeReason) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.count[i]++
		l.at[i], l.why[i] = time.Now(), r
		if len(l.count) == l.want {
			close(l.all)
		}
	})
}

// Every poll is woken once, with WakeTimeout, not before its time; a
// removed one is not woken; the list stays whole whatever is removed.
func TestExpiryWakesInTime(t *testing.T) {
	const after = 80 * time.Millisecond
	x := NewExpiry(after, 5*time.Millisecond)
	const n = 50
	log := newWakeLog(n - 3)
	entries := make([]ExpiryEntry, n)
	added := make([]time.Time, n)
	for i := range n {
		added[i] = time.Now()
		x.Add(&entries[i], log.waker(i))
		if i%10 == 0 {
			time.Sleep(3 * time.Millisecond) // several deadlines, several firings
		}
	}
	// The head, one in the middle and the tail leave before their time.
	for _, i := range []int{0, n / 2, n - 1} {
		x.Remove(&entries[i])
		x.Remove(&entries[i]) // twice: nothing happens
	}
	if got := x.Len(); got != n-3 {
		t.Fatalf("Len after 3 removals = %d, want %d", got, n-3)
	}
	select {
	case <-log.all:
	case <-time.After(10 * time.Second):
		t.Fatalf("woken %d of %d", len(log.count), n-3)
	}
	time.Sleep(2 * after) // nothing else comes
	log.mu.Lock()
	defer log.mu.Unlock()
	for i := range n {
		removed := i == 0 || i == n/2 || i == n-1
		switch {
		case removed && log.count[i] != 0:
			t.Errorf("poll %d was removed, but woken", i)
		case !removed && log.count[i] != 1:
			t.Errorf("poll %d woken %d times, want once", i, log.count[i])
		case !removed && log.why[i] != WakeTimeout:
			t.Errorf("poll %d woken with %v, want WakeTimeout", i, log.why[i])
		case !removed && log.at[i].Sub(added[i]) < after:
			t.Errorf("poll %d woken %v after it was added, before its time (%v)", i, log.at[i].Sub(added[i]), after)
		}
	}
	if got := x.Len(); got != 0 {
		t.Errorf("Len after all expired = %d, want 0", got)
	}
}

// Polls added while the list is empty again (after a firing) still
// expire: the timer is armed anew.
func TestExpiryRearms(t *testing.T) {
	x := NewExpiry(10*time.Millisecond, 0)
	for round := range 3 {
		log := newWakeLog(1)
		var e ExpiryEntry
		x.Add(&e, log.waker(0))
		select {
		case <-log.all:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: not woken", round)
		}
	}
}
