package comet

import (
	"sync"
	"time"
)

// Expiry times out held polls that all wait the same time (the server's
// hold): they expire in the order they were added, so one list in that
// order and one timer, armed for the list's head, serve them all. A poll
// costs no timer and no allocation of its own, and adding or removing one
// is O(1). A poll is woken with WakeTimeout between its time and that
// plus the slack: polls that expire within the slack of each other are
// woken together, by one firing of the timer.
type Expiry struct {
	after time.Duration
	slack time.Duration
	clock time.Time // the origin of the deadlines (monotonic)

	mu    sync.Mutex
	head  *ExpiryEntry
	tail  *ExpiryEntry
	timer *time.Timer
	armed bool
	n     int
	spare []Waker // the last firing's list, for the next one to reuse
}

// ExpiryEntry is a poll's place in an Expiry: a field of the poll, zero
// until added.
type ExpiryEntry struct {
	prev, next *ExpiryEntry
	at         time.Duration // since the Expiry's clock
	w          Waker
	in         bool
}

// NewExpiry returns an Expiry for polls that wait after, woken up to slack
// late.
func NewExpiry(after, slack time.Duration) *Expiry {
	x := &Expiry{after: after, slack: max(slack, 0), clock: time.Now()}
	x.timer = time.AfterFunc(time.Hour, x.fire)
	x.timer.Stop()
	return x
}

// Add wakes w with WakeTimeout when its time is up, unless e is removed
// first. e must not be in an Expiry already.
func (x *Expiry) Add(e *ExpiryEntry, w Waker) {
	at := time.Since(x.clock) + x.after
	x.mu.Lock()
	e.at, e.w, e.in = at, w, true
	e.prev, e.next = x.tail, nil
	if x.tail != nil {
		x.tail.next = e
	} else {
		x.head = e
	}
	x.tail = e
	x.n++
	if !x.armed {
		x.arm(at)
	}
	x.mu.Unlock()
}

// Remove takes e out, if it is still in: its waker will not be called
// by x from now on. It reports whether e was in: false when its time came
// (its waker may still be being called) or it was never added.
func (x *Expiry) Remove(e *ExpiryEntry) bool {
	x.mu.Lock()
	in := e.in
	if in {
		x.unlink(e)
	}
	x.mu.Unlock()
	return in
}

func (x *Expiry) unlink(e *ExpiryEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		x.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		x.tail = e.prev
	}
	e.prev, e.next, e.w, e.in = nil, nil, nil, false
	x.n--
}

// arm sets the timer for a head due at (x.mu held).
func (x *Expiry) arm(at time.Duration) {
	x.armed = true
	x.timer.Reset(max(at-time.Since(x.clock), 0) + x.slack)
}

// fire wakes every poll whose time is up, then arms the timer for the
// next one.
func (x *Expiry) fire() {
	now := time.Since(x.clock)
	x.mu.Lock()
	x.armed = false
	due := x.spare[:0]
	x.spare = nil
	for x.head != nil && x.head.at <= now {
		e := x.head
		due = append(due, e.w)
		x.unlink(e)
	}
	if x.head != nil {
		x.arm(x.head.at)
	}
	x.mu.Unlock()
	for i, w := range due {
		w.Wake(WakeTimeout)
		due[i] = nil
	}
	x.mu.Lock()
	x.spare = due[:0]
	x.mu.Unlock()
}

// Len is the number of polls waiting for their time.
func (x *Expiry) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.n
}
