package redisengine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// Identical reads share one Redis round trip. A publish to a channel that
// a thousand polls hold wakes all of them at once, and they all re-read
// the same query (same channels, same since, usually no client); without
// sharing that is a thousand read scripts in Redis and a thousand replies
// to decode, for one and the same answer.
//
// Sharing stays exact: a caller only ever joins a read that has not been
// sent yet. While a read for a query is in flight, the callers that arrive
// gather into the next read, which is sent as soon as the one in flight
// has returned; so every caller's view is taken after its call began, as
// if it had read alone (a poll that registered its watch and then read
// cannot get a view older than its watch). There is no deliberate delay: a
// caller waits at most for the read in flight, as it would have waited
// for a free connection.

// readFlight is one read of one query, shared by every caller that joined
// it before it was sent.
type readFlight struct {
	done chan struct{} // closed once res and err are set
	res  comet.ReadResult
	err  error
}

// readSlot is the state of one query: the read in flight and the one
// gathering callers behind it.
type readSlot struct {
	running *readFlight
	next    *readFlight
}

// readGroup holds the slots of the queries being read.
type readGroup struct {
	mu    sync.Mutex
	slots map[string]*readSlot
}

// readKey identifies a query: names never hold control characters, so
// "\x00" and "\x01" cannot occur inside one.
func readKey(q comet.ReadQuery) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(q.Since, 10))
	if q.HasClient {
		b.WriteString("\x01")
		b.WriteString(q.ClientID)
	}
	for _, c := range q.Channels {
		b.WriteString("\x00")
		b.WriteString(c)
	}
	return b.String()
}

// read answers q through read, sharing the round trip with identical
// queries as described above. The shared read runs without the caller's
// cancellation (it is bounded by the operation timeout) so that one
// caller leaving does not fail the others.
func (g *readGroup) read(ctx context.Context, q comet.ReadQuery, read func(context.Context, comet.ReadQuery) (comet.ReadResult, error)) (comet.ReadResult, error) {
	key := readKey(q)
	g.mu.Lock()
	if g.slots == nil {
		g.slots = make(map[string]*readSlot)
	}
	s := g.slots[key]
	if s == nil {
		f := &readFlight{done: make(chan struct{})}
		g.slots[key] = &readSlot{running: f}
		g.mu.Unlock()
		g.run(ctx, key, q, f, read)
		return f.result()
	}
	if f := s.next; f != nil {
		g.mu.Unlock()
		return f.wait(ctx)
	}
	f := &readFlight{done: make(chan struct{})}
	s.next = f
	prev := s.running
	g.mu.Unlock()
	<-prev.done // bounded: a read returns within the operation timeout
	g.mu.Lock()
	s.running, s.next = f, nil // from now on, newcomers gather behind f
	g.mu.Unlock()
	g.run(ctx, key, q, f, read)
	return f.result()
}

// run performs f's read and then forgets the slot unless a next read has
// gathered behind it.
func (g *readGroup) run(ctx context.Context, key string, q comet.ReadQuery, f *readFlight, read func(context.Context, comet.ReadQuery) (comet.ReadResult, error)) {
	f.res, f.err = read(context.WithoutCancel(ctx), q)
	g.mu.Lock()
	if s := g.slots[key]; s != nil && s.running == f && s.next == nil {
		delete(g.slots, key)
	}
	g.mu.Unlock()
	close(f.done)
}

// wait waits for f (or for the caller to leave).
func (f *readFlight) wait(ctx context.Context) (comet.ReadResult, error) {
	select {
	case <-f.done:
		return f.result()
	case <-ctx.Done():
		return comet.ReadResult{}, unavailable(ctx.Err())
	}
}

func unavailable(err error) error {
	return fmt.Errorf("%w: %v", comet.ErrUnavailable, err)
}

// result is f's answer for one caller: the messages are shared (nobody
// writes to them), the slices that name them are the caller's own.
func (f *readFlight) result() (comet.ReadResult, error) {
	if f.err != nil {
		return comet.ReadResult{}, f.err
	}
	res := f.res
	res.Channels = slices.Clone(res.Channels)
	res.Truncated = slices.Clone(res.Truncated)
	return res, nil
}
