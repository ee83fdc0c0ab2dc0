// Package enginetest is the one behavioural suite every comet.Engine must
// pass: the contract stated on comet.Engine, checked from the outside. An
// engine's own tests call Run with a function that opens it; nothing here
// knows any engine's internals.
//
// Time-based subtests use real, short timeouts (hundreds of milliseconds)
// with generous bounded waits, so that an engine whose clock is not Go's
// (Redis) can run them; nothing here uses testing/synctest.
package enginetest

import (
	"context"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// Options configure an engine under test. Zero timeouts never expire; zero
// limits mean no limit.
type Options struct {
	ChannelTimeout     time.Duration // --inactive-channel-timeout
	SessionTimeout     time.Duration // --session-timeout
	DefaultMaxMessages int           // --messages-per-channel
	MaxChannels        int           // --max-channels
	MaxClients         int           // --max-clients
}

// OpenFunc opens an engine that reports to n. Every call made with the
// same t must open the same storage (a second call simulates a restart:
// what was stored, ids included, survives as the engine's kind promises);
// each distinct t must get fresh, empty storage. Run closes the engines it
// opens, and may close one twice.
type OpenFunc func(t *testing.T, n comet.Notifier, o Options) comet.Engine

// Run runs the whole suite against the engine opened by open.
func Run(t *testing.T, open func(t *testing.T, n comet.Notifier, o Options) comet.Engine) {
	s := &suite{open: open}
	t.Run("Channels", s.channels)
	t.Run("Clients", s.clients)
	t.Run("Publish", s.publish)
	t.Run("Read", s.read)
	t.Run("Retention", s.retention)
	t.Run("Since", s.since)
	t.Run("Truncated", s.truncated)
	t.Run("IDs", s.ids)
	t.Run("Restart", s.restart)
	t.Run("Sessions", s.sessions)
	t.Run("Notify", s.notify)
	t.Run("Expiry", s.expiry)
	t.Run("Status", s.status)
	t.Run("Capacity", s.capacity)
	t.Run("Concurrent", s.concurrent)
	t.Run("Stream", s.stream)
}

type suite struct {
	open OpenFunc
}

// start opens an engine with a fresh recorder; the engine is closed when
// the test ends.
func (s *suite) start(t *testing.T, o Options) (comet.Engine, *Recorder) {
	t.Helper()
	rec := NewRecorder()
	e := s.open(t, rec, o)
	t.Cleanup(func() { _ = e.Close() })
	return e, rec
}

// ctx is a bounded context for one engine call.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}
