package enginetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/simple-comet/simple-comet/internal/comet"
)

func (s *suite) channels(t *testing.T) {
	e, _ := s.start(t, Options{})
	register(t, e, "a", comet.ChannelOptions{})
	if err := e.RegisterChannel(ctx(t), "a", comet.ChannelOptions{}); !errors.Is(err, comet.ErrChannelExists) {
		t.Fatalf("RegisterChannel twice: got %v, want %v", err, comet.ErrChannelExists)
	}
	// A session channel of the same name is still the same name.
	if err := e.RegisterChannel(ctx(t), "a", comet.ChannelOptions{UseSessions: true}); !errors.Is(err, comet.ErrChannelExists) {
		t.Fatalf("RegisterChannel twice with other options: got %v, want %v", err, comet.ErrChannelExists)
	}
	publish(t, e, "a", "before delete")
	removed, err := e.DeleteChannel(ctx(t), "a")
	if err != nil || !removed {
		t.Fatalf("DeleteChannel: got (%v, %v), want (true, nil)", removed, err)
	}
	removed, err = e.DeleteChannel(ctx(t), "a")
	if err != nil || removed {
		t.Fatalf("DeleteChannel twice: got (%v, %v), want (false, nil)", removed, err)
	}
	removed, err = e.DeleteChannel(ctx(t), "never")
	if err != nil || removed {
		t.Fatalf("DeleteChannel of a missing channel: got (%v, %v), want (false, nil)", removed, err)
	}
	if _, err := e.Publish(ctx(t), "a", "x"); !errors.Is(err, comet.ErrNoChannel) {
		t.Fatalf("Publish to a deleted channel: got %v, want %v", err, comet.ErrNoChannel)
	}
	readErr(t, e, q(0, "a"), comet.ErrNoValidChannels)
	// Registered again, it starts empty: the deleted messages are gone.
	register(t, e, "a", comet.ChannelOptions{})
	res := read(t, e, q(0, "a"))
	if got := messagesOf(res, "a"); len(got) != 0 {
		t.Fatalf("re-registered channel: got messages %q, want none", contents(got))
	}
	// Names are opaque: any valid name works, including odd ones.
	for _, name := range []string{"a//b", "é", "with space", "x.json", "z"} {
		register(t, e, name, comet.ChannelOptions{})
		publish(t, e, name, "in "+name)
		res := read(t, e, q(0, name))
		wantStrings(t, "read of "+name, contents(messagesOf(res, name)), []string{"in " + name})
	}
}

func (s *suite) clients(t *testing.T) {
	e, _ := s.start(t, Options{})
	register(t, e, "c", comet.ChannelOptions{})
	registerClient(t, e, "alice")
	if err := e.RegisterClient(ctx(t), "alice"); !errors.Is(err, comet.ErrClientExists) {
		t.Fatalf("RegisterClient twice: got %v, want %v", err, comet.ErrClientExists)
	}
	read(t, e, qc("alice", 0, "c"))
	readErr(t, e, qc("bob", 0, "c"), comet.ErrUnknownClient)
	removed, err := e.DeleteClient(ctx(t), "alice")
	if err != nil || !removed {
		t.Fatalf("DeleteClient: got (%v, %v), want (true, nil)", removed, err)
	}
	removed, err = e.DeleteClient(ctx(t), "alice")
	if err != nil || removed {
		t.Fatalf("DeleteClient twice: got (%v, %v), want (false, nil)", removed, err)
	}
	readErr(t, e, qc("alice", 0, "c"), comet.ErrUnknownClient)
	registerClient(t, e, "alice")
	read(t, e, qc("alice", 0, "c"))
	// A client id and a channel name live in different spaces.
	registerClient(t, e, "c")
	register(t, e, "alice", comet.ChannelOptions{})
}

func (s *suite) publish(t *testing.T) {
	e, _ := s.start(t, Options{})
	if _, err := e.Publish(ctx(t), "missing", "x"); !errors.Is(err, comet.ErrNoChannel) {
		t.Fatalf("Publish to a missing channel: got %v, want %v", err, comet.ErrNoChannel)
	}
	register(t, e, "p", comet.ChannelOptions{})
	before := read(t, e, q(0, "p")).LastID
	contentsIn := []string{"", "hello", "ünïcödé \u2028 */ </script>", string(make([]byte, 64<<10))}
	var last int64
	for i, c := range contentsIn {
		m := publish(t, e, "p", c)
		if m.ID <= before || m.ID <= last {
			t.Fatalf("message %d: got id %d, want above %d and %d", i, m.ID, before, last)
		}
		if m.TS <= 0 {
			t.Fatalf("message %d: got ts %d, want Unix seconds", i, m.TS)
		}
		last = m.ID
	}
	res := read(t, e, q(0, "p"))
	wantStrings(t, "read after publish", contents(messagesOf(res, "p")), contentsIn)
	if res.LastID != last {
		t.Fatalf("read after publish: got last_id %d, want the newest id %d", res.LastID, last)
	}
}

func (s *suite) read(t *testing.T) {
	e, _ := s.start(t, Options{})
	for _, n := range []string{"r1", "r2", "r3"} {
		register(t, e, n, comet.ChannelOptions{})
	}
	m1 := publish(t, e, "r1", "one")
	m3 := publish(t, e, "r3", "three")

	res := read(t, e, q(0, "r3", "missing", "r2", "r1"))
	wantStrings(t, "channels in the order asked, missing skipped", channelNames(res), []string{"r3", "r2", "r1"})
	wantStrings(t, "r1", contents(messagesOf(res, "r1")), []string{"one"})
	wantStrings(t, "r2", contents(messagesOf(res, "r2")), nil)
	wantStrings(t, "r3", contents(messagesOf(res, "r3")), []string{"three"})
	if res.Since != 0 || res.LastID != m3.ID {
		t.Fatalf("read: got since %d last_id %d, want 0 and %d", res.Since, res.LastID, m3.ID)
	}
	if !res.HasMessages() {
		t.Fatal("read: got HasMessages false, want true")
	}
	res = read(t, e, q(m1.ID, "r1", "r3"))
	wantStrings(t, "r1 since m1", contents(messagesOf(res, "r1")), nil)
	wantStrings(t, "r3 since m1", contents(messagesOf(res, "r3")), []string{"three"})
	res = read(t, e, q(m3.ID, "r1", "r2", "r3"))
	if res.HasMessages() {
		t.Fatalf("read since newest: got %+v, want no messages", res.Channels)
	}
	if len(res.Channels) != 3 {
		t.Fatalf("read since newest: got channels %q, want all three (empty)", channelNames(res))
	}
	readErr(t, e, q(0, "missing", "other"), comet.ErrNoValidChannels)
	// A message published after a read is newer than that read's last_id.
	m := publish(t, e, "r2", "later")
	if m.ID <= res.LastID {
		t.Fatalf("publish after read: got id %d, want above last_id %d", m.ID, res.LastID)
	}
	res = read(t, e, q(res.LastID, "r1", "r2", "r3"))
	wantStrings(t, "read since previous last_id", contents(messagesOf(res, "r2")), []string{"later"})
}

func (s *suite) retention(t *testing.T) {
	e, _ := s.start(t, Options{DefaultMaxMessages: 4})
	register(t, e, "three", comet.ChannelOptions{MaxMessages: 3})
	register(t, e, "default", comet.ChannelOptions{})
	register(t, e, "one", comet.ChannelOptions{MaxMessages: 1})
	var all []string
	for i := range 10 {
		c := fmt.Sprint("m", i)
		all = append(all, c)
		publish(t, e, "three", c)
		publish(t, e, "default", c)
		publish(t, e, "one", c)
	}
	res := read(t, e, q(0, "three", "default", "one"))
	wantStrings(t, "max_messages 3", contents(messagesOf(res, "three")), all[7:])
	wantStrings(t, "default max messages 4", contents(messagesOf(res, "default")), all[6:])
	wantStrings(t, "max_messages 1", contents(messagesOf(res, "one")), all[9:])
	// Below the limit nothing is dropped.
	register(t, e, "roomy", comet.ChannelOptions{MaxMessages: 100})
	for _, c := range all {
		publish(t, e, "roomy", c)
	}
	res = read(t, e, q(0, "roomy"))
	wantStrings(t, "max_messages 100", contents(messagesOf(res, "roomy")), all)
}

func (s *suite) since(t *testing.T) {
	e, _ := s.start(t, Options{})
	register(t, e, "s", comet.ChannelOptions{})
	empty := read(t, e, q(0, "s"))
	if empty.LastID <= 0 {
		t.Fatalf("read before any message: got last_id %d, want the engine's id clock (> 0)", empty.LastID)
	}
	// Above the newest id: taken as the newest id.
	res := read(t, e, q(empty.LastID+1_000_000, "s"))
	if res.Since != res.LastID || res.LastID != empty.LastID {
		t.Fatalf("since above the newest id: got since %d last_id %d, want both %d", res.Since, res.LastID, empty.LastID)
	}
	m1 := publish(t, e, "s", "one")
	m2 := publish(t, e, "s", "two")
	cases := []struct {
		name      string
		since     int64
		wantSince int64
		want      []string
	}{
		{"zero", 0, 0, []string{"one", "two"}},
		{"below first", m1.ID - 1, m1.ID - 1, []string{"one", "two"}},
		{"first", m1.ID, m1.ID, []string{"two"}},
		{"newest", m2.ID, m2.ID, nil},
		{"just above newest", m2.ID + 1, m2.ID, nil},
		{"far above newest", 1 << 62, m2.ID, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := read(t, e, q(c.since, "s"))
			if res.Since != c.wantSince || res.LastID != m2.ID {
				t.Fatalf("got since %d last_id %d, want since %d last_id %d", res.Since, res.LastID, c.wantSince, m2.ID)
			}
			wantStrings(t, "messages", contents(messagesOf(res, "s")), c.want)
		})
	}
}

func (s *suite) truncated(t *testing.T) {
	e, _ := s.start(t, Options{})
	register(t, e, "small", comet.ChannelOptions{MaxMessages: 2})
	register(t, e, "big", comet.ChannelOptions{MaxMessages: 100})
	var ms []comet.Message
	for i := range 5 {
		ms = append(ms, publish(t, e, "small", fmt.Sprint("s", i)))
		publish(t, e, "big", fmt.Sprint("b", i))
	}
	// small keeps s3, s4; s0..s2 were dropped.
	cases := []struct {
		name  string
		since int64
		want  []string
	}{
		{"since zero is never truncated", 0, nil},
		{"since before the first dropped", ms[0].ID - 1, []string{"small"}},
		{"since s0: s1 and s2 were dropped", ms[0].ID, []string{"small"}},
		{"since s1: s2 was dropped", ms[1].ID, []string{"small"}},
		{"since s2: nothing newer was dropped", ms[2].ID, nil},
		{"since s4", ms[4].ID, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := read(t, e, q(c.since, "big", "small"))
			wantStrings(t, "truncated", res.Truncated, c.want)
		})
	}
}
