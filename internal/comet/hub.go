package comet

import (
	"sync"
	"sync/atomic"
)

// WakeReason says why a held poll was answered.
type WakeReason uint8

const (
	WakeNone       WakeReason = iota // answered at once, never held
	WakeMessage                      // a message was published to one of its channels
	WakeTimeout                      // the hold time ran out
	WakeDeleted                      // one of its channels was deleted or expired
	WakeShutdown                     // the server is shutting down
	WakeEngineDown                   // the engine became unreachable
	WakeResync                       // the engine came back: re-read to miss nothing
	WakeGone                         // the client hung up (nothing is written)
)

var wakeNames = [...]string{"none", "message", "timeout", "delete", "shutdown", "engine_down", "resync", "gone"}

func (r WakeReason) String() string {
	if int(r) < len(wakeNames) {
		return wakeNames[int(r)]
	}
	return "unknown"
}

// Poll is one held read: a small value owned by the Hub from Add to Remove.
// It carries only what waking needs, so that a transport other than a
// goroutine per request can hold it later.
type Poll struct {
	channels  []string
	clientID  string
	hasClient bool
	wake      chan WakeReason  // for a goroutine that waits
	fn        func(WakeReason) // or a callback, for a parked connection
}

// NewPoll returns a poll watching channels, for the given reader, to be
// waited on through Wake.
func NewPoll(channels []string, clientID string, hasClient bool) *Poll {
	return &Poll{channels: channels, clientID: clientID, hasClient: hasClient, wake: make(chan WakeReason, 1)}
}

// NewPollFunc returns a poll whose wakes call fn instead: a held read with
// no goroutine waiting for it. fn runs with the Hub's lock held, on the
// notifier's goroutine: it must be quick, must not block and must not call
// the Hub. It may be called more than once (wakes do not coalesce for it).
func NewPollFunc(channels []string, clientID string, hasClient bool, fn func(WakeReason)) *Poll {
	return &Poll{channels: channels, clientID: clientID, hasClient: hasClient, fn: fn}
}

// Wake is the channel the Hub signals; it holds at most one pending reason.
// It is nil for a poll made by NewPollFunc.
func (p *Poll) Wake() <-chan WakeReason { return p.wake }

func (p *Poll) signal(r WakeReason) {
	if p.fn != nil {
		p.fn(r)
		return
	}
	select {
	case p.wake <- r:
	default: // a wake is already pending: they coalesce
	}
}

// Hub owns every held poll of this node, indexed by channel, and wakes them.
// It implements Notifier for the engines.
type Hub struct {
	mu     sync.Mutex
	polls  map[string]map[*Poll]struct{}
	n      int
	max    int
	closed bool
	gen    atomic.Uint64 // counts notifications (see Generation)
}

// NewHub returns a hub that holds at most max polls (0: no limit).
func NewHub(max int) *Hub {
	return &Hub{polls: make(map[string]map[*Poll]struct{}), max: max}
}

// Add registers p on its channels. It fails with ErrClosed after Shutdown
// and with ErrCapacity when max polls are held.
func (h *Hub) Add(p *Poll) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if h.max > 0 && h.n >= h.max {
		return ErrCapacity
	}
	for _, c := range p.channels {
		set := h.polls[c]
		if set == nil {
			set = make(map[*Poll]struct{})
			h.polls[c] = set
		}
		set[p] = struct{}{}
	}
	h.n++
	return nil
}

// Remove forgets p; it leaves no entry behind. Removing twice is harmless.
func (h *Hub) Remove(p *Poll) {
	h.mu.Lock()
	defer h.mu.Unlock()
	removed := false
	for _, c := range p.channels {
		set := h.polls[c]
		if _, ok := set[p]; !ok {
			continue
		}
		removed = true
		delete(set, p)
		if len(set) == 0 {
			delete(h.polls, c)
		}
	}
	if removed {
		h.n--
	}
}

// Generation changes whenever a notification may have changed what a read
// sees. Two reads of the same query taken while it does not change may
// share one answer: a reader woken by a notification always finds the
// generation moved past the one before that notification.
func (h *Hub) Generation() uint64 { return h.gen.Load() }

// Notify wakes every poll held on channel. It never blocks on a poll.
func (h *Hub) Notify(channel string, reason WakeReason) {
	h.gen.Add(1)
	h.mu.Lock()
	for p := range h.polls[channel] {
		p.signal(reason)
	}
	h.mu.Unlock()
}

// NotifyAll wakes every held poll.
func (h *Hub) NotifyAll(reason WakeReason) {
	h.gen.Add(1)
	h.mu.Lock()
	for _, set := range h.polls {
		for p := range set {
			p.signal(reason)
		}
	}
	h.mu.Unlock()
}

// Shutdown wakes every held poll with WakeShutdown and refuses new ones.
// It is safe to call twice.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.NotifyAll(WakeShutdown)
}

// Held is the number of polls held now.
func (h *Hub) Held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Watched reports how many channels have at least one held poll.
func (h *Hub) Watched() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.polls)
}

// Active lists the channels and client ids of the polls held now, for the
// keep-alive that stops them from expiring while held.
func (h *Hub) Active() (channels, clients []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := make(map[string]struct{})
	for c, set := range h.polls {
		channels = append(channels, c)
		for p := range set {
			if p.hasClient {
				if _, ok := seen[p.clientID]; !ok {
					seen[p.clientID] = struct{}{}
					clients = append(clients, p.clientID)
				}
			}
		}
	}
	return channels, clients
}
