// Package memengine is the embedded engine: channels, their retained
// messages and registered clients, in this process's memory. It is the
// default engine and the reference for the contract stated on comet.Engine.
//
// Concurrency: one RWMutex guards the maps, the id clock and every ring;
// publishing, registering and deleting take it exclusively, reads share it.
// Inactivity clocks are atomics so that reads (which touch them) stay
// shared. Notifications go to the Hub after the lock is released. One
// sweeper goroutine, stopped by Close, removes what has expired.
package memengine

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// Options configure the engine. Zero timeouts never expire.
type Options struct {
	ChannelTimeout     time.Duration // --inactive-channel-timeout
	SessionTimeout     time.Duration // --session-timeout
	DefaultMaxMessages int           // used when a channel asks for none
	MaxChannels        int           // 0: no limit
	MaxClients         int           // 0: no limit
}

// Engine is the in-memory comet.Engine.
type Engine struct {
	opts     Options
	notifier comet.Notifier

	mu       sync.RWMutex
	last     int64 // newest id issued (or the start reading)
	channels map[string]*channel
	clients  map[string]*client
	users    int // channels that are not reserved

	published atomic.Int64
	stop      chan struct{}
	done      sync.WaitGroup
	closeOnce sync.Once
}

type client struct{ lastSeen atomic.Int64 }

// New returns a running engine that tells n when polls must wake.
func New(opts Options, n comet.Notifier) *Engine {
	if opts.DefaultMaxMessages <= 0 {
		opts.DefaultMaxMessages = 100
	}
	e := &Engine{
		opts:     opts,
		notifier: n,
		last:     comet.TimeID(time.Now()),
		channels: make(map[string]*channel),
		clients:  make(map[string]*client),
		stop:     make(chan struct{}),
	}
	if every := sweepInterval(opts); every > 0 {
		e.done.Add(1)
		go e.sweeper(every)
	}
	return e
}

// Name implements comet.Engine.
func (e *Engine) Name() string { return "memory" }

// Ping implements comet.Engine: memory is always there.
func (e *Engine) Ping(context.Context) error { return nil }

// Close stops the sweeper and returns once the clock has passed the newest
// id issued. Safe to call twice.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		close(e.stop)
		e.waitClock()
	})
	e.done.Wait()
	return nil
}

// maxClockWait bounds how long Close waits for the clock.
const maxClockWait = 2 * time.Second

// waitClock sleeps until TimeID(now) is above the newest id issued. A burst
// of publishes runs ids ahead of the clock (each is at least previous+1, one
// 10 µs unit), and an engine started right after this one seeds its ids from
// the clock: without the wait it could issue ids below earlier ones.
func (e *Engine) waitClock() {
	e.mu.RLock()
	last := e.last
	e.mu.RUnlock()
	if ahead := time.Duration(last-comet.TimeID(time.Now())+1) * comet.IDUnit; ahead > 0 {
		time.Sleep(min(ahead, maxClockWait))
	}
}

func (e *Engine) channelExpired(c *channel, now int64) bool {
	return e.opts.ChannelTimeout > 0 && now-c.lastRead.Load() > int64(e.opts.ChannelTimeout)
}

func (e *Engine) clientExpired(c *client, now int64) bool {
	return e.opts.SessionTimeout > 0 && now-c.lastSeen.Load() > int64(e.opts.SessionTimeout)
}

// live returns the channel unless it is missing or expired (expiry is also
// checked here, so a sweep that has not run yet changes nothing).
func (e *Engine) live(name string, now int64) *channel {
	c := e.channels[name]
	if c == nil || e.channelExpired(c, now) {
		return nil
	}
	return c
}

// touchEvery: an inactivity clock is moved at most this often. Reads of a
// busy channel run on every core at once; storing the time on each of them
// would pass the clock's cache line from core to core for nothing.
const touchEvery = int64(time.Millisecond)

// touch moves an inactivity clock to now.
func touch(clock *atomic.Int64, now int64) {
	if now-clock.Load() >= touchEvery {
		clock.Store(now)
	}
}

// RegisterChannel implements comet.Engine.
func (e *Engine) RegisterChannel(_ context.Context, name string, opts comet.ChannelOptions) error {
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = e.opts.DefaultMaxMessages
	}
	now := time.Now().UnixNano()
	e.mu.Lock()
	old := e.channels[name]
	if old != nil && !e.channelExpired(old, now) {
		e.mu.Unlock()
		return comet.ErrChannelExists
	}
	reserved := comet.Reserved(name)
	if old == nil && !reserved && e.opts.MaxChannels > 0 && e.users >= e.opts.MaxChannels {
		e.mu.Unlock()
		return comet.ErrCapacity
	}
	c := newChannel(opts)
	c.lastRead.Store(now)
	e.channels[name] = c
	if old == nil && !reserved {
		e.users++
	}
	e.mu.Unlock()
	if old != nil { // an expired one the sweeper had not removed yet
		e.notifier.Notify(name, comet.WakeDeleted)
	}
	return nil
}

// DeleteChannel implements comet.Engine.
func (e *Engine) DeleteChannel(_ context.Context, name string) (bool, error) {
	now := time.Now().UnixNano()
	e.mu.Lock()
	c := e.channels[name]
	if c == nil {
		e.mu.Unlock()
		return false, nil
	}
	removed := !e.channelExpired(c, now)
	e.removeChannelLocked(name)
	e.mu.Unlock()
	e.notifier.Notify(name, comet.WakeDeleted)
	return removed, nil
}

func (e *Engine) removeChannelLocked(name string) {
	delete(e.channels, name)
	if !comet.Reserved(name) {
		e.users--
	}
}

// Publish implements comet.Engine.
func (e *Engine) Publish(_ context.Context, name, content string) (comet.Message, error) {
	t := time.Now()
	e.mu.Lock()
	c := e.live(name, t.UnixNano())
	if c == nil {
		e.mu.Unlock()
		return comet.Message{}, comet.ErrNoChannel
	}
	e.last = comet.NextID(e.last, t)
	m := comet.Message{ID: e.last, TS: t.Unix(), Content: content}
	c.append(m)
	e.mu.Unlock()
	if !comet.Reserved(name) { // the server's own channels are never counted
		e.published.Add(1)
	}
	e.notifier.Notify(name, comet.WakeMessage)
	return m, nil
}

// RegisterClient implements comet.Engine.
func (e *Engine) RegisterClient(_ context.Context, id string) error {
	now := time.Now().UnixNano()
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.clients[id]
	if old != nil && !e.clientExpired(old, now) {
		return comet.ErrClientExists
	}
	if old == nil && e.opts.MaxClients > 0 && len(e.clients) >= e.opts.MaxClients {
		return comet.ErrCapacity
	}
	c := &client{}
	c.lastSeen.Store(now)
	e.clients[id] = c
	return nil
}

// DeleteClient implements comet.Engine.
func (e *Engine) DeleteClient(_ context.Context, id string) (bool, error) {
	now := time.Now().UnixNano()
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.clients[id]
	if c == nil {
		return false, nil
	}
	delete(e.clients, id)
	return !e.clientExpired(c, now), nil
}

// Read implements comet.Engine.
func (e *Engine) Read(_ context.Context, q comet.ReadQuery) (comet.ReadResult, error) {
	now := time.Now().UnixNano()
	e.mu.RLock()
	defer e.mu.RUnlock()
	if q.HasClient {
		c := e.clients[q.ClientID]
		if c == nil || e.clientExpired(c, now) {
			return comet.ReadResult{}, comet.ErrUnknownClient
		}
		touch(&c.lastSeen, now)
	}
	res := comet.ReadResult{Since: min(max(q.Since, 0), e.last), LastID: e.last}
	res.Channels = make([]comet.ChannelMessages, 0, len(q.Channels))
	for _, name := range q.Channels {
		c := e.live(name, now)
		if c == nil || (c.useSessions && !q.HasClient) {
			continue
		}
		touch(&c.lastRead, now)
		res.Channels = append(res.Channels, comet.ChannelMessages{Channel: name, Messages: c.since(res.Since)})
		if res.Since > 0 && c.droppedMax > res.Since {
			res.Truncated = append(res.Truncated, name)
		}
	}
	if len(res.Channels) == 0 {
		return comet.ReadResult{}, comet.ErrNoValidChannels
	}
	return res, nil
}

// Touch implements comet.Engine.
func (e *Engine) Touch(_ context.Context, channels, clients []string) error {
	now := time.Now().UnixNano()
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, name := range channels {
		if c := e.live(name, now); c != nil {
			touch(&c.lastRead, now)
		}
	}
	for _, id := range clients {
		if c := e.clients[id]; c != nil && !e.clientExpired(c, now) {
			touch(&c.lastSeen, now)
		}
	}
	return nil
}

// Status implements comet.Engine.
func (e *Engine) Status(_ context.Context, limit int) (comet.EngineStatus, error) {
	now := time.Now().UnixNano()
	e.mu.RLock()
	defer e.mu.RUnlock()
	st := comet.EngineStatus{MessagesPublished: e.published.Load()}
	for name, c := range e.channels {
		if comet.Reserved(name) || e.channelExpired(c, now) {
			continue
		}
		st.ChannelsCount++
		if len(st.Channels) < limit {
			st.Channels = append(st.Channels, name)
		}
	}
	for id, c := range e.clients {
		if e.clientExpired(c, now) {
			continue
		}
		st.ClientsCount++
		if len(st.Clients) < limit {
			st.Clients = append(st.Clients, id)
		}
	}
	sort.Strings(st.Channels)
	sort.Strings(st.Clients)
	return st, nil
}

// NonBlocking marks the engine as comet.NonBlocking: every call is
// answered from memory, so the lean transport serves it on its event
// loops.
func (e *Engine) NonBlocking() {}
