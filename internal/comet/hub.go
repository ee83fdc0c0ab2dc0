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
// It carries only what waking needs, so that any transport can hold it (a
// Hold has one inside).
type Poll struct {
	channels  []string
	clientID  string
	hasClient bool
	wake      chan WakeReason // for a goroutine that waits
	fn        Waker           // or a callback, for a parked connection
	links     []pollLink      // one per channel while added
	one       [1]pollLink     // links of a one-channel poll, without an allocation
	added     atomic.Bool     // in the Hub (set and cleared under its lock)
}

// pollLink is a poll's place in the list of one channel's polls: adding and
// removing a poll are pointer updates, with no hashing and no allocation.
type pollLink struct {
	p          *Poll
	list       *pollList // nil when not linked
	prev, next *pollLink
}

// pollList holds the polls of one channel.
type pollList struct {
	first *pollLink
	n     int
}

func (l *pollList) push(k *pollLink) {
	k.list, k.prev, k.next = l, nil, l.first
	if l.first != nil {
		l.first.prev = k
	}
	l.first = k
	l.n++
}

func (l *pollList) unlink(k *pollLink) {
	if k.prev != nil {
		k.prev.next = k.next
	} else {
		l.first = k.next
	}
	if k.next != nil {
		k.next.prev = k.prev
	}
	k.list, k.prev, k.next = nil, nil, nil
	l.n--
}

func newPoll(channels []string, clientID string, hasClient bool) *Poll {
	return initPoll(new(Poll), channels, clientID, hasClient)
}

// initPoll sets up p (zero) to watch channels.
func initPoll(p *Poll, channels []string, clientID string, hasClient bool) *Poll {
	p.channels, p.clientID, p.hasClient = channels, clientID, hasClient
	if len(channels) == 1 {
		p.links = p.one[:]
	} else {
		p.links = make([]pollLink, len(channels))
	}
	for i := range p.links {
		p.links[i].p = p
	}
	return p
}

// NewPoll returns a poll watching channels, for the given reader, to be
// waited on through Wake.
func NewPoll(channels []string, clientID string, hasClient bool) *Poll {
	p := newPoll(channels, clientID, hasClient)
	p.wake = make(chan WakeReason, 1)
	return p
}

// Waker is told when a poll made with a callback wakes. A pointer to the
// caller's own value satisfies it without an allocation.
type Waker interface{ Wake(WakeReason) }

// WakeFunc is a func as a Waker.
type WakeFunc func(WakeReason)

// Wake calls f.
func (f WakeFunc) Wake(r WakeReason) { f(r) }

// NewPollFunc returns a poll whose wakes call fn instead: a held read with
// no goroutine waiting for it. fn runs with the Hub's lock held, on the
// notifier's goroutine: it must be quick, must not block and must not call
// the Hub. A Notify lets the poll go as it calls fn (such a poll is
// answered once); NotifyAll keeps it, so fn may be called more than once
// (wakes do not coalesce for it).
func NewPollFunc(channels []string, clientID string, hasClient bool, fn func(WakeReason)) *Poll {
	p := newPoll(channels, clientID, hasClient)
	p.fn = WakeFunc(fn)
	return p
}

// Wake is the channel the Hub signals; it holds at most one pending reason.
// It is nil for a poll made by NewPollFunc.
func (p *Poll) Wake() <-chan WakeReason { return p.wake }

func (p *Poll) signal(r WakeReason) {
	if p.fn != nil {
		p.fn.Wake(r)
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
	polls  map[string]*pollList
	n      int
	max    int
	closed bool
	gen    atomic.Uint64 // counts notifications (see Generation)
}

// NewHub returns a hub that holds at most max polls (0: no limit).
func NewHub(max int) *Hub {
	return &Hub{polls: make(map[string]*pollList), max: max}
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
	if len(p.links) > 0 && p.links[0].list != nil {
		return nil // added already
	}
	for i, c := range p.channels {
		l := h.polls[c]
		if l == nil {
			l = &pollList{}
			h.polls[c] = l
		}
		l.push(&p.links[i])
	}
	h.n++
	p.added.Store(true)
	return nil
}

// Remove forgets p; it leaves no entry behind. Removing twice is harmless,
// and removing a poll the Hub let go already (a Waker poll it woke) takes
// no lock.
func (h *Hub) Remove(p *Poll) {
	if !p.added.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(p)
}

func (h *Hub) removeLocked(p *Poll) {
	removed := false
	for i := range p.links {
		k := &p.links[i]
		l := k.list
		if l == nil {
			continue
		}
		removed = true
		l.unlink(k)
		if l.n == 0 {
			delete(h.polls, p.channels[i])
		}
	}
	if removed {
		h.n--
	}
	// Last: a Remove that finds the poll not added (without the lock)
	// may let its owner reuse it at once, so the Hub must be done with it.
	p.added.Store(false)
}

// Generation changes whenever a notification may have changed what a read
// sees. Two reads of the same query taken while it does not change may
// share one answer: a reader woken by a notification always finds the
// generation moved past the one before that notification.
func (h *Hub) Generation() uint64 { return h.gen.Load() }

// Notify wakes every poll held on channel. It never blocks on a poll. A
// poll with a Waker (a parked read) is answered once, so the Hub lets it go
// as it wakes it: its owner's Remove then finds nothing to do, and takes
// no lock while other wakes of the same publish are still being handed
// out.
func (h *Hub) Notify(channel string, reason WakeReason) {
	h.gen.Add(1)
	h.mu.Lock()
	if l := h.polls[channel]; l != nil {
		for k := l.first; k != nil; {
			p := k.p
			p.signal(reason)
			next := k.next
			if p.fn != nil {
				for next != nil && next.p == p {
					next = next.next // p named this channel twice
				}
				h.removeLocked(p)
			}
			k = next
		}
	}
	h.mu.Unlock()
}

// NotifyAll wakes every held poll.
func (h *Hub) NotifyAll(reason WakeReason) {
	h.gen.Add(1)
	h.mu.Lock()
	for _, l := range h.polls {
		for k := l.first; k != nil; k = k.next {
			k.p.signal(reason)
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
	for c, l := range h.polls {
		channels = append(channels, c)
		for k := l.first; k != nil; k = k.next {
			if p := k.p; p.hasClient {
				if _, ok := seen[p.clientID]; !ok {
					seen[p.clientID] = struct{}{}
					clients = append(clients, p.clientID)
				}
			}
		}
	}
	return channels, clients
}
