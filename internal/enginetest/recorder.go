package enginetest

import (
	"sync"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// Event is one notification an engine made.
type Event struct {
	Channel string // "" for NotifyAll
	Reason  comet.WakeReason
}

// Recorder is a comet.Notifier that remembers every notification, so a
// test can wait for one.
type Recorder struct {
	mu      sync.Mutex
	events  []Event
	changed chan struct{} // closed and replaced at every event
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{changed: make(chan struct{})} }

// Notify implements comet.Notifier.
func (r *Recorder) Notify(channel string, reason comet.WakeReason) {
	r.add(Event{Channel: channel, Reason: reason})
}

// NotifyAll implements comet.Notifier.
func (r *Recorder) NotifyAll(reason comet.WakeReason) { r.add(Event{Reason: reason}) }

func (r *Recorder) add(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Count is how many events for channel with reason were recorded.
func (r *Recorder) Count(channel string, reason comet.WakeReason) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Channel == channel && e.Reason == reason {
			n++
		}
	}
	return n
}

// WaitCount waits up to timeout until at least n events for channel with
// reason were recorded, and fails the test otherwise.
func (r *Recorder) WaitCount(t testing.TB, channel string, reason comet.WakeReason, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		got := r.Count(channel, reason)
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("Notify(%q, %v): got %d calls within %v, want at least %d", channel, reason, got, timeout, n)
		}
	}
}
