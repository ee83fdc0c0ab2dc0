package localcopy

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// Read answers q from the copy, as the store's read would have answered it
// at the sequence number the copy has applied. hit is false when the copy
// cannot answer exactly (see the package doc): the caller reads the store.
// A read it answers restarts the clocks of what it read, as a read of the
// store does, through the next TakeTouches.
func (c *Copy) Read(q comet.ReadQuery) (res comet.ReadResult, hit bool, err error) {
	res, hit, err = c.read(q)
	if !hit {
		c.misses.Add(1)
	}
	return res, hit, err
}

// answerableLocked checks that the copy can answer q exactly: its client
// (nil without one) and how many of its channels are readable.
func (c *Copy) answerableLocked(q comet.ReadQuery) (cl *client, readable int, ok bool) {
	// A since above the newest id the copy has applied is the store's to
	// judge: clamped if above the store's newest id too, otherwise a view
	// the copy has not reached yet.
	if !c.based || c.applied < c.own.Load() || max(q.Since, 0) > c.lastID {
		return nil, 0, false
	}
	now := c.now()
	if q.HasClient {
		if cl = c.clients[q.ClientID]; cl == nil || cl.asOf > c.applied || !c.live(&cl.expiry, now, c.opts.SessionTimeout) {
			return nil, 0, false
		}
	}
	for _, name := range q.Channels {
		ch := c.chans[name]
		if ch == nil || ch.asOf > c.applied || !c.live(&ch.expiry, now, c.opts.ChannelTimeout) {
			return nil, 0, false
		}
		if !ch.useSessions || q.HasClient {
			readable++
		}
	}
	return cl, readable, true
}

func (c *Copy) read(q comet.ReadQuery) (comet.ReadResult, bool, error) {
	c.stateMu.RLock()
	defer c.stateMu.RUnlock()
	cl, readable, ok := c.answerableLocked(q)
	if !ok {
		return comet.ReadResult{}, false, nil
	}
	since := max(q.Since, 0)
	if cl != nil {
		c.touch(&cl.expiry, q.ClientID, &c.touchClients)
	}
	if readable == 0 {
		return comet.ReadResult{}, true, comet.ErrNoValidChannels
	}
	res := comet.ReadResult{Since: since, LastID: c.lastID, Channels: make([]comet.ChannelMessages, 0, readable)}
	for _, name := range q.Channels {
		ch := c.chans[name]
		if ch.useSessions && !q.HasClient {
			continue
		}
		c.touch(&ch.expiry, name, &c.touchChans)
		res.Channels = append(res.Channels, comet.ChannelMessages{Channel: name, Messages: ch.after(since)})
		if since > 0 && ch.dropped > since {
			res.Truncated = append(res.Truncated, name)
		}
	}
	return res, true, nil
}

// after is the retained messages with id > since, shared with the copy
// (capped, so that an append by a caller cannot reach the copy's array).
func (ch *channel) after(since int64) []comet.Message {
	i := sort.Search(len(ch.msgs), func(i int) bool { return ch.msgs[i].ID > since })
	if i == len(ch.msgs) {
		return nil
	}
	return ch.msgs[i:len(ch.msgs):len(ch.msgs)]
}

// live reports whether the store cannot have expired a name whose clock it
// last restarted at k.confirmed.
func (c *Copy) live(k *clock, now int64, timeout time.Duration) bool {
	return timeout <= 0 || now-k.confirmed.Load() < int64(timeout-expirySlack)
}

// touch queues name for the next TakeTouches, once per batch.
func (c *Copy) touch(k *clock, name string, list *[]string) {
	if k.pending.Load() || !k.pending.CompareAndSwap(false, true) {
		return
	}
	c.touchMu.Lock()
	*list = append(*list, name)
	c.touchMu.Unlock()
}

// TakeTouches returns the channels and clients read from the copy since the
// last call, and the time to Confirm them with once the store has
// restarted their clocks. The caller touches them in the store (within a
// few hundred milliseconds, so that expiry stays cluster-wide).
func (c *Copy) TakeTouches() (channels, clients []string, at time.Time) {
	c.touchMu.Lock()
	channels, clients = c.touchChans, c.touchClients
	c.touchChans, c.touchClients = nil, nil
	c.touchMu.Unlock()
	c.stateMu.RLock()
	for _, n := range channels {
		if ch := c.chans[n]; ch != nil {
			ch.expiry.pending.Store(false)
		}
	}
	for _, n := range clients {
		if cl := c.clients[n]; cl != nil {
			cl.expiry.pending.Store(false)
		}
	}
	c.stateMu.RUnlock()
	// Taken after the flags are cleared: a read that came before is in
	// this batch, one that comes after queues itself again.
	return channels, clients, time.Now()
}

// Confirm records that the store restarted the clocks of these channels and
// clients, no earlier than at.
func (c *Copy) Confirm(channels, clients []string, at time.Time) {
	t := c.at(at)
	c.stateMu.RLock()
	defer c.stateMu.RUnlock()
	for _, n := range channels {
		if ch := c.chans[n]; ch != nil {
			raise(&ch.expiry.confirmed, t)
		}
	}
	for _, n := range clients {
		if cl := c.clients[n]; cl != nil {
			raise(&cl.expiry.confirmed, t)
		}
	}
}

// raise sets v to t unless it is later already.
func raise(v *atomic.Int64, t int64) {
	for {
		cur := v.Load()
		if t <= cur || v.CompareAndSwap(cur, t) {
			return
		}
	}
}

// Evict forgets the channels and clients not read (nor touched) for idle:
// the copy holds what this node uses, not the whole store.
func (c *Copy) Evict(idle time.Duration) {
	cut := c.now() - int64(idle)
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	for n, ch := range c.chans {
		if ch.expiry.confirmed.Load() < cut && !ch.expiry.pending.Load() {
			delete(c.chans, n)
		}
	}
	for n, cl := range c.clients {
		if cl.expiry.confirmed.Load() < cut && !cl.expiry.pending.Load() {
			delete(c.clients, n)
		}
	}
}

// Size is how many channels and clients the copy holds.
func (c *Copy) Size() (channels, clients int) {
	c.stateMu.RLock()
	defer c.stateMu.RUnlock()
	return len(c.chans), len(c.clients)
}
