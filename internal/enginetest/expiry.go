package enginetest

import (
	"errors"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// The expiry tests run in real time with short timeouts. expiryWait bounds
// how long an expiry may take to be noticed (sweeps run periodically).
const (
	shortTimeout = 600 * time.Millisecond
	expiryWait   = 10 * time.Second
)

// eventually polls cond every 20ms until it holds or wait passes.
func eventually(t testing.TB, what string, wait time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *suite) expiry(t *testing.T) {
	t.Run("Channel", func(t *testing.T) {
		t.Parallel()
		e, rec := s.start(t, Options{ChannelTimeout: shortTimeout})
		register(t, e, "idle", comet.ChannelOptions{})
		register(t, e, "read", comet.ChannelOptions{})
		register(t, e, "touched", comet.ChannelOptions{})
		// Publishing does not keep a channel alive; reading and touching do.
		end := time.Now().Add(3 * shortTimeout)
		for time.Now().Before(end) {
			if _, err := e.Publish(ctx(t), "idle", "x"); err != nil && !errors.Is(err, comet.ErrNoChannel) {
				t.Fatalf("Publish: got %v, want nil or %v", err, comet.ErrNoChannel)
			}
			read(t, e, q(0, "read"))
			if err := e.Touch(ctx(t), []string{"touched", "missing"}, nil); err != nil {
				t.Fatalf("Touch: got %v, want nil", err)
			}
			time.Sleep(shortTimeout / 8)
		}
		if _, err := e.Publish(ctx(t), "idle", "x"); !errors.Is(err, comet.ErrNoChannel) {
			t.Fatalf("Publish to a channel unread for 3 timeouts: got %v, want %v", err, comet.ErrNoChannel)
		}
		readErr(t, e, q(0, "idle"), comet.ErrNoValidChannels)
		rec.WaitCount(t, "idle", comet.WakeDeleted, 1, expiryWait)
		publish(t, e, "read", "alive")
		publish(t, e, "touched", "alive")
		if got := rec.Count("read", comet.WakeDeleted) + rec.Count("touched", comet.WakeDeleted); got != 0 {
			t.Fatalf("Notify(deleted) for live channels: got %d, want 0", got)
		}
		// Left alone, they expire too, and are announced.
		eventually(t, "touched channel expires once left alone", expiryWait, func() bool {
			_, err := e.Publish(ctx(t), "touched", "x")
			return errors.Is(err, comet.ErrNoChannel)
		})
		rec.WaitCount(t, "touched", comet.WakeDeleted, 1, expiryWait)
		rec.WaitCount(t, "read", comet.WakeDeleted, 1, expiryWait)
		st, err := e.Status(ctx(t), 100)
		if err != nil || st.ChannelsCount != 0 {
			t.Fatalf("Status after expiry: got (%+v, %v), want no channels", st, err)
		}
		// An expired name can be registered again.
		register(t, e, "idle", comet.ChannelOptions{})
	})
	t.Run("Session", func(t *testing.T) {
		t.Parallel()
		e, _ := s.start(t, Options{SessionTimeout: shortTimeout})
		register(t, e, "c", comet.ChannelOptions{})
		registerClient(t, e, "reader")
		registerClient(t, e, "toucher")
		registerClient(t, e, "idle")
		end := time.Now().Add(3 * shortTimeout)
		for time.Now().Before(end) {
			read(t, e, qc("reader", 0, "c"))
			if err := e.Touch(ctx(t), nil, []string{"toucher", "nobody"}); err != nil {
				t.Fatalf("Touch: got %v, want nil", err)
			}
			time.Sleep(shortTimeout / 8)
		}
		readErr(t, e, qc("idle", 0, "c"), comet.ErrUnknownClient)
		read(t, e, qc("reader", 0, "c"))
		read(t, e, qc("toucher", 0, "c"))
		// An expired client id can be registered again.
		registerClient(t, e, "idle")
		read(t, e, qc("idle", 0, "c"))
		eventually(t, "expired clients leave the status", expiryWait, func() bool {
			st, err := e.Status(ctx(t), 100)
			return err == nil && st.ClientsCount == 0 && len(st.Clients) == 0
		})
		readErr(t, e, qc("reader", 0, "c"), comet.ErrUnknownClient)
	})
	t.Run("Disabled", func(t *testing.T) {
		t.Parallel()
		e, _ := s.start(t, Options{})
		register(t, e, "forever", comet.ChannelOptions{})
		time.Sleep(3 * shortTimeout)
		publish(t, e, "forever", "still here")
	})
}
