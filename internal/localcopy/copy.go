package localcopy

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// Kind is what a change in the stream did.
type Kind uint8

const (
	// Message: a message was stored in the channel Name, which the store
	// then trimmed to its MaxMessages.
	Message Kind = iota + 1
	// ChannelGone: the channel Name was deleted or expired.
	ChannelGone
	// ClientGone: the client Name was deleted.
	ClientGone
)

// Event is one change of the store, in the order of the stream.
type Event struct {
	Seq     int64 // the store's sequence number of the change
	Kind    Kind
	Name    string        // the channel, or the client id
	Message comet.Message // for Kind Message
}

// ChannelState is a channel as the store holds it.
type ChannelState struct {
	Name        string
	UseSessions bool
	MaxMessages int   // 0: not trimmed
	Dropped     int64 // the newest id trimming dropped (0: none)
	// Messages are every retained message, oldest first. The copy keeps
	// the slice: nobody may change it after Install.
	Messages []comet.Message
}

// Snapshot is what one read of the store returned, in one atomic step.
type Snapshot struct {
	Seq       int64 // the store's sequence number when it was read
	LastID    int64 // the store's newest id then
	Channels  []ChannelState
	ClientID  string // the client the read was made as, if HasClient
	HasClient bool
	// Taken is when the read was sent: the store restarted the clocks of
	// what it returned no earlier than that.
	Taken time.Time
}

// Options configure a Copy.
type Options struct {
	// ChannelTimeout and SessionTimeout are the store's expiry timeouts
	// (0: never).
	ChannelTimeout time.Duration
	SessionTimeout time.Duration
	// MaxChannels bounds how many channels the copy holds (default
	// 100,000); beyond it, reads of new channels go to the store.
	MaxChannels int
	// Ring is how many recent changes Install can look back over
	// (default 4096).
	Ring int
}

// expirySlack is how long before the store could expire a channel or a
// client the copy stops answering for it: clocks of two machines that run
// at the same rate but are read a round trip apart.
const expirySlack = 250 * time.Millisecond

// channel is one channel's copy.
type channel struct {
	useSessions bool
	max         int
	dropped     int64
	msgs        []comet.Message // oldest first; entries are never changed in place
	asOf        int64           // the sequence number the copy is exact from
	expiry      clock
}

// client is one registered client's copy.
type client struct {
	asOf   int64
	expiry clock
}

// clock is when the store last restarted the inactivity clock of a name
// (as the copy knows it), and whether a touch of it is waiting to be sent.
type clock struct {
	confirmed atomic.Int64 // nanoseconds since the Copy's epoch
	pending   atomic.Bool
}

// change is one applied change, kept in the ring for Install.
type change struct {
	seq  int64
	kind Kind
	name string
}

// Copy is a node's local copy (see the package doc).
type Copy struct {
	opts  Options
	epoch time.Time // the zero of every clock; monotonic

	// stateMu guards everything below it. Reads take it shared.
	stateMu sync.RWMutex
	based   bool
	base    int64 // the sequence number of the last Rebase
	applied int64 // the newest sequence number applied
	lastID  int64 // the newest id as of applied
	chans   map[string]*channel
	clients map[string]*client
	ring    []change // ring[seq % len]: the last applied changes

	own atomic.Int64 // the newest sequence number of a write this node acknowledged

	// touchMu guards the names read since the last TakeTouches.
	touchMu      sync.Mutex
	touchChans   []string
	touchClients []string

	misses atomic.Int64 // reads it could not answer (hits are not counted: a shared counter on every read costs more than the read)
}

// New returns a copy that is not based yet: it answers nothing until
// Rebase.
func New(o Options) *Copy {
	if o.MaxChannels <= 0 {
		o.MaxChannels = 100_000
	}
	if o.Ring <= 0 {
		o.Ring = 4096
	}
	return &Copy{
		opts:    o,
		epoch:   time.Now(),
		chans:   make(map[string]*channel),
		clients: make(map[string]*client),
		ring:    make([]change, o.Ring),
	}
}

// now is the time since the epoch, on the monotonic clock.
func (c *Copy) now() int64 { return int64(time.Since(c.epoch)) }

// at is t since the epoch.
func (c *Copy) at(t time.Time) int64 { return int64(t.Sub(c.epoch)) }

// Based reports whether the copy follows the stream (a miss may Install).
func (c *Copy) Based() bool {
	c.stateMu.RLock()
	defer c.stateMu.RUnlock()
	return c.based
}

// Misses is how many reads the copy could not answer.
func (c *Copy) Misses() int64 { return c.misses.Load() }

// Acked records a write this node acknowledged at sequence number seq: no
// read is answered from the copy until it has applied seq.
func (c *Copy) Acked(seq int64) {
	for {
		cur := c.own.Load()
		if seq <= cur || c.own.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// Rebase makes the copy follow the stream from sequence number seq, at
// which the store's newest id was lastID. Everything it held is forgotten.
func (c *Copy) Rebase(seq, lastID int64) {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	c.clearLocked()
	c.based, c.base, c.applied = true, seq, seq
	c.lastID = max(c.lastID, lastID) // last_id never goes backwards
	// Writes acknowledged above seq belong to a history the store no
	// longer has (a failover lost them): waiting for them would never end.
	for {
		cur := c.own.Load()
		if cur <= seq || c.own.CompareAndSwap(cur, seq) {
			break
		}
	}
}

// Invalidate forgets everything until the next Rebase: the stream was
// lost.
func (c *Copy) Invalidate() {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	c.clearLocked()
}

func (c *Copy) clearLocked() {
	c.based = false
	clear(c.chans)
	clear(c.clients)
}

// Apply applies the next change of the stream. It reports false when the
// copy is not based (now, or because ev revealed a gap): the caller must
// Rebase it, and wake every held poll, whose wake-ups may be lost.
func (c *Copy) Apply(ev Event) bool {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	if !c.based {
		return false
	}
	if ev.Seq <= c.applied {
		if c.applied == c.base {
			return true // in flight when the base was read: included in it
		}
		c.clearLocked() // the store's history went back: a failover
		return false
	}
	if ev.Seq != c.applied+1 {
		c.clearLocked() // a change was lost
		return false
	}
	c.applied = ev.Seq
	c.ring[ev.Seq%int64(len(c.ring))] = change{seq: ev.Seq, kind: ev.Kind, name: ev.Name}
	switch ev.Kind {
	case Message:
		c.lastID = max(c.lastID, ev.Message.ID)
		if ch := c.chans[ev.Name]; ch != nil && ev.Seq > ch.asOf {
			ch.add(ev.Message)
		}
	case ChannelGone:
		if ch := c.chans[ev.Name]; ch != nil && ev.Seq > ch.asOf {
			delete(c.chans, ev.Name)
		}
	case ClientGone:
		if cl := c.clients[ev.Name]; cl != nil && ev.Seq > cl.asOf {
			delete(c.clients, ev.Name)
		}
	}
	return true
}

// add appends m and trims the channel as the store did.
func (ch *channel) add(m comet.Message) {
	ch.msgs = append(ch.msgs, m)
	if n := len(ch.msgs) - ch.max; ch.max > 0 && n > 0 {
		ch.dropped = ch.msgs[n-1].ID
		ch.msgs = ch.msgs[n:]
	}
}

// Install offers what a read of the store returned. It reports whether the
// copy took it: only when no change applied after s.Seq touches one of its
// names, so that what it holds stays exact.
func (c *Copy) Install(s Snapshot) bool {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	if !c.based || s.Seq < c.base || (s.Seq < c.applied && c.touchedLocked(s)) {
		return false
	}
	taken := c.at(s.Taken)
	for i := range s.Channels {
		st := &s.Channels[i]
		old := c.chans[st.Name]
		if old != nil && old.asOf >= s.Seq {
			continue // the copy is as new already
		}
		if old == nil && len(c.chans) >= c.opts.MaxChannels {
			continue
		}
		ch := &channel{useSessions: st.UseSessions, max: st.MaxMessages, dropped: st.Dropped, msgs: st.Messages, asOf: s.Seq}
		ch.expiry.confirmed.Store(taken)
		if old != nil {
			ch.expiry.confirmed.Store(max(taken, old.expiry.confirmed.Load()))
		}
		c.chans[st.Name] = ch
	}
	if s.HasClient {
		if old := c.clients[s.ClientID]; old == nil || old.asOf < s.Seq {
			cl := &client{asOf: s.Seq}
			cl.expiry.confirmed.Store(taken)
			c.clients[s.ClientID] = cl
		}
	}
	if s.Seq <= c.applied {
		// Every id up to s.LastID was issued at or before s.Seq, so the
		// copy has applied them all.
		c.lastID = max(c.lastID, s.LastID)
	}
	return true
}

// touchedLocked reports whether a change in (s.Seq, applied] touches one
// of s's names, or whether the ring no longer reaches back that far.
func (c *Copy) touchedLocked(s Snapshot) bool {
	if c.applied-s.Seq >= int64(len(c.ring)) {
		return true
	}
	for seq := s.Seq + 1; seq <= c.applied; seq++ {
		ch := c.ring[seq%int64(len(c.ring))]
		if ch.seq != seq || seq <= c.base {
			return true
		}
		if ch.kind == ClientGone {
			if s.HasClient && ch.name == s.ClientID {
				return true
			}
			continue
		}
		for i := range s.Channels {
			if s.Channels[i].Name == ch.name {
				return true
			}
		}
	}
	return false
}
