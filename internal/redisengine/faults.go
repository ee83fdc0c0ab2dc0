package redisengine

import (
	"sync"
	"sync/atomic"
)

// faults are the stream faults the engine suite drills (enginetest's
// StreamFaults, through this package's tests): doorbells lost without the
// connection dropping, and a listener that falls behind. Unused in
// production, they cost the listener one atomic load per doorbell.
type faults struct {
	skipping atomic.Int64 // doorbells to drop unheard
	paused   atomic.Bool
	gate     sync.Mutex // held while paused
}

// skip reports whether to drop this doorbell unheard.
func (f *faults) skip() bool {
	for {
		n := f.skipping.Load()
		if n <= 0 {
			return false
		}
		if f.skipping.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// wait blocks the listener while paused.
func (f *faults) wait() {
	if f.paused.Load() {
		f.gate.Lock()
		f.gate.Unlock() //nolint:staticcheck // an empty critical section: wait for resume
	}
}

// pause makes the listener stop taking doorbells (they queue in Redis and
// in the socket) until resume is called.
func (f *faults) pause() (resume func()) {
	f.gate.Lock()
	f.paused.Store(true)
	var once sync.Once
	return func() {
		once.Do(func() {
			f.paused.Store(false)
			f.gate.Unlock()
		})
	}
}

// reconnect drops the doorbell subscription, as Redis does to a
// subscriber over its output buffer limit; the listener subscribes again.
func (e *Engine) reconnect() {
	e.subMu.Lock()
	defer e.subMu.Unlock()
	if e.sub != nil {
		e.sub.Close()
	}
}
