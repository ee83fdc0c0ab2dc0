package enginetest

import (
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// notifyWait bounds the wait for a notification (an engine may deliver
// them asynchronously, as Redis pub/sub does).
const notifyWait = 5 * time.Second

func (s *suite) notify(t *testing.T) {
	e, rec := s.start(t, Options{})
	register(t, e, "n", comet.ChannelOptions{})
	register(t, e, "other", comet.ChannelOptions{})
	publish(t, e, "n", "1")
	rec.WaitCount(t, "n", comet.WakeMessage, 1, notifyWait)
	publish(t, e, "n", "2")
	rec.WaitCount(t, "n", comet.WakeMessage, 2, notifyWait)
	if _, err := e.DeleteChannel(ctx(t), "n"); err != nil {
		t.Fatalf("DeleteChannel: got %v, want nil", err)
	}
	rec.WaitCount(t, "n", comet.WakeDeleted, 1, notifyWait)
	// A failed publish wakes no one.
	if _, err := e.Publish(ctx(t), "n", "3"); err == nil {
		t.Fatal("Publish to a deleted channel: got nil, want an error")
	}
	publish(t, e, "other", "x")
	rec.WaitCount(t, "other", comet.WakeMessage, 1, notifyWait)
	if got := rec.Count("n", comet.WakeMessage); got != 2 {
		t.Fatalf("Notify(n, message) after a failed publish: got %d calls, want 2", got)
	}
	// When the message is announced, a read sees it: the step that stores
	// it comes before the notification.
	e2, rec2 := s.start(t, Options{})
	register(t, e2, "v", comet.ChannelOptions{})
	before := read(t, e2, q(0, "v")).LastID
	for i := range 20 {
		m := publish(t, e2, "v", "x")
		rec2.WaitCount(t, "v", comet.WakeMessage, i+1, notifyWait)
		res := read(t, e2, q(before, "v"))
		if ms := messagesOf(res, "v"); len(ms) == 0 || ms[len(ms)-1].ID != m.ID {
			t.Fatalf("read after notification: got %d messages, want the published id %d last", len(ms), m.ID)
		}
	}
}
