package localcopy

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

func msg(id int64) comet.Message { return comet.Message{ID: id, TS: 1, Content: "m"} }

func msgEvent(seq int64, name string, id int64) Event {
	return Event{Seq: seq, Kind: Message, Name: name, Message: msg(id)}
}

// based is a copy based at seq 10, id 100, holding channel "a" (messages
// 99, 100, max 3) and the session channel "s" with the client "me".
func based(t *testing.T, o Options) *Copy {
	t.Helper()
	c := New(o)
	c.Rebase(10, 100)
	if !c.Install(Snapshot{Seq: 10, LastID: 100, Taken: time.Now(), ClientID: "me", HasClient: true, Channels: []ChannelState{
		{Name: "a", MaxMessages: 3, Messages: []comet.Message{msg(99), msg(100)}},
		{Name: "s", UseSessions: true, MaxMessages: 3},
	}}) {
		t.Fatal("Install at the base: refused")
	}
	return c
}

func ids(res comet.ReadResult, channel string) []int64 {
	for _, c := range res.Channels {
		if c.Channel == channel {
			var out []int64
			for _, m := range c.Messages {
				out = append(out, m.ID)
			}
			return out
		}
	}
	return nil
}

func mustHit(t *testing.T, c *Copy, q comet.ReadQuery) comet.ReadResult {
	t.Helper()
	res, hit, err := c.Read(q)
	if !hit || err != nil {
		t.Fatalf("Read(%+v): got hit %v, err %v; want a hit", q, hit, err)
	}
	return res
}

func mustMiss(t *testing.T, c *Copy, q comet.ReadQuery, why string) {
	t.Helper()
	if _, hit, _ := c.Read(q); hit {
		t.Fatalf("Read(%+v) %s: got a hit, want a miss", q, why)
	}
}

func wantIDs(t *testing.T, got []int64, want ...int64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("got ids %v, want %v", got, want)
	}
}

func TestNotBasedAnswersNothing(t *testing.T) {
	c := New(Options{})
	mustMiss(t, c, comet.ReadQuery{Channels: []string{"a"}}, "before Rebase")
	if c.Apply(msgEvent(1, "a", 1)) {
		t.Fatal("Apply before Rebase: got true, want false")
	}
	if c.Install(Snapshot{Seq: 1, Channels: []ChannelState{{Name: "a"}}}) {
		t.Fatal("Install before Rebase: got true, want false")
	}
}

func TestReadsWhatTheStoreWouldAnswer(t *testing.T) {
	c := based(t, Options{})
	res := mustHit(t, c, comet.ReadQuery{Channels: []string{"a", "s"}, Since: 99})
	if res.Since != 99 || res.LastID != 100 {
		t.Fatalf("got since %d last %d, want 99 100", res.Since, res.LastID)
	}
	if len(res.Channels) != 1 || res.Channels[0].Channel != "a" {
		t.Fatalf("without a client the session channel is left out: got %+v", res.Channels)
	}
	wantIDs(t, ids(res, "a"), 100)
	res = mustHit(t, c, comet.ReadQuery{Channels: []string{"a", "s"}, ClientID: "me", HasClient: true})
	if len(res.Channels) != 2 {
		t.Fatalf("with the client: got %d channels, want 2", len(res.Channels))
	}
	if _, hit, err := c.Read(comet.ReadQuery{Channels: []string{"s"}}); !hit || !errors.Is(err, comet.ErrNoValidChannels) {
		t.Fatalf("only a session channel, no client: got hit %v err %v, want ErrNoValidChannels", hit, err)
	}
	mustMiss(t, c, comet.ReadQuery{Channels: []string{"a", "unknown"}}, "with a name the copy does not hold")
	mustMiss(t, c, comet.ReadQuery{Channels: []string{"a"}, ClientID: "other", HasClient: true}, "as a client the copy does not hold")
	mustMiss(t, c, comet.ReadQuery{Channels: []string{"a"}, Since: 101}, "with since above the copy's newest id")
}

func TestAppliesMessagesAndTrimsAsTheStore(t *testing.T) {
	c := based(t, Options{})
	for i, id := range []int64{101, 102, 103} {
		if !c.Apply(msgEvent(11+int64(i), "a", id)) {
			t.Fatal("Apply in sequence: got false")
		}
	}
	res := mustHit(t, c, comet.ReadQuery{Channels: []string{"a"}})
	wantIDs(t, ids(res, "a"), 101, 102, 103) // max 3: 99 and 100 dropped
	if res.LastID != 103 {
		t.Fatalf("last id: got %d, want 103", res.LastID)
	}
	res = mustHit(t, c, comet.ReadQuery{Channels: []string{"a"}, Since: 99})
	if !slices.Equal(res.Truncated, []string{"a"}) {
		t.Fatalf("since 99 after 100 was dropped: got truncated %v, want [a]", res.Truncated)
	}
	res = mustHit(t, c, comet.ReadQuery{Channels: []string{"a"}, Since: 100})
	if len(res.Truncated) != 0 {
		t.Fatalf("since 100: got truncated %v, want none", res.Truncated)
	}
	// A message for a channel the copy does not hold changes only last_id.
	if !c.Apply(msgEvent(14, "elsewhere", 104)) {
		t.Fatal("Apply: got false")
	}
	if res := mustHit(t, c, comet.ReadQuery{Channels: []string{"a"}}); res.LastID != 104 {
		t.Fatalf("last id: got %d, want 104", res.LastID)
	}
}

func TestAGapOrAStepBackForgetsEverything(t *testing.T) {
	c := based(t, Options{})
	if c.Apply(msgEvent(12, "a", 101)) {
		t.Fatal("Apply after a lost change: got true, want false")
	}
	mustMiss(t, c, comet.ReadQuery{Channels: []string{"a"}}, "after a gap")
	if c.Based() {
		t.Fatal("after a gap: still based")
	}

	c = based(t, Options{})
	if !c.Apply(msgEvent(9, "a", 98)) || !c.Apply(msgEvent(10, "a", 99)) {
		t.Fatal("changes in flight when the base was read: got false, want them skipped")
	}
	if !c.Apply(msgEvent(11, "a", 101)) {
		t.Fatal("Apply: got false")
	}
	wantIDs(t, ids(mustHit(t, c, comet.ReadQuery{Channels: []string{"a"}}), "a"), 99, 100, 101)
	if c.Apply(msgEvent(11, "a", 102)) {
		t.Fatal("a sequence number applied already (a failover): got true, want false")
	}
	mustMiss(t, c, comet.ReadQuery{Channels: []string{"a"}}, "after the store went back")
}

func TestDeletionsLeaveTheCopy(t *testing.T) {
	c := based(t, Options{})
	c.Apply(Event{Seq: 11, Kind: ChannelGone, Name: "a"})
	mustMiss(t, c, comet.ReadQuery{Channels: []string{"a"}}, "of a deleted channel")
	c.Apply(Event{Seq: 12, Kind: ClientGone, Name: "me"})
	mustMiss(t, c, comet.ReadQuery{Channels: []string{"s"}, ClientID: "me", HasClient: true}, "as a deleted client")
}

func TestInstallRefusesWhatALaterChangeTouched(t *testing.T) {
	c := based(t, Options{})
	c.Apply(msgEvent(11, "b", 101))
	c.Apply(msgEvent(12, "other", 102))
	// Read at 10, before "b" got 101: taking it would lose 101.
	if c.Install(Snapshot{Seq: 10, LastID: 100, Taken: time.Now(), Channels: []ChannelState{{Name: "b"}}}) {
		t.Fatal("Install of a channel changed since the snapshot: got true, want false")
	}
	// "c" was not changed after 10: the snapshot is still exact.
	if !c.Install(Snapshot{Seq: 10, LastID: 100, Taken: time.Now(), Channels: []ChannelState{{Name: "c", Messages: []comet.Message{msg(50)}}}}) {
		t.Fatal("Install of an unchanged channel: got false, want true")
	}
	wantIDs(t, ids(mustHit(t, c, comet.ReadQuery{Channels: []string{"c"}}), "c"), 50)
	c.Apply(Event{Seq: 13, Kind: ClientGone, Name: "you"})
	if c.Install(Snapshot{Seq: 12, LastID: 102, Taken: time.Now(), ClientID: "you", HasClient: true, Channels: []ChannelState{{Name: "c"}}}) {
		t.Fatal("Install as a client deleted since: got true, want false")
	}
	// Beyond the ring, nothing can be told: refused.
	small := New(Options{Ring: 2})
	small.Rebase(0, 0)
	for seq := int64(1); seq <= 3; seq++ {
		small.Apply(msgEvent(seq, "x", seq))
	}
	if small.Install(Snapshot{Seq: 0, Taken: time.Now(), Channels: []ChannelState{{Name: "c"}}}) {
		t.Fatal("Install older than the ring reaches: got true, want false")
	}
}

func TestASnapshotAheadOfTheStreamWaitsForIt(t *testing.T) {
	c := based(t, Options{})
	// The store was read at 12; changes 11 and 12 (both to "b") are still
	// on their way here.
	if !c.Install(Snapshot{Seq: 12, LastID: 102, Taken: time.Now(), Channels: []ChannelState{{Name: "b", Messages: []comet.Message{msg(101), msg(102)}}}}) {
		t.Fatal("Install ahead of the stream: got false, want true")
	}
	mustMiss(t, c, comet.ReadQuery{Channels: []string{"b"}}, "before the stream reached the snapshot")
	c.Apply(msgEvent(11, "b", 101))
	c.Apply(msgEvent(12, "b", 102))
	res := mustHit(t, c, comet.ReadQuery{Channels: []string{"b"}})
	wantIDs(t, ids(res, "b"), 101, 102) // each once
	if res.LastID != 102 {
		t.Fatalf("last id: got %d, want 102", res.LastID)
	}
}

func TestOwnWritesComeFirst(t *testing.T) {
	c := based(t, Options{})
	c.Acked(11)
	mustMiss(t, c, comet.ReadQuery{Channels: []string{"a"}}, "before this node's write was applied")
	c.Apply(msgEvent(11, "a", 101))
	wantIDs(t, ids(mustHit(t, c, comet.ReadQuery{Channels: []string{"a"}}), "a"), 99, 100, 101)
	// After a failover the store's history is shorter: a write acknowledged
	// beyond it is not waited for.
	c.Acked(50)
	c.Rebase(20, 200)
	c.Install(Snapshot{Seq: 20, LastID: 200, Taken: time.Now(), Channels: []ChannelState{{Name: "a"}}})
	mustHit(t, c, comet.ReadQuery{Channels: []string{"a"}})
}

func TestExpiryStaysTheStores(t *testing.T) {
	c := New(Options{ChannelTimeout: time.Second, SessionTimeout: time.Second})
	c.Rebase(1, 1)
	c.Install(Snapshot{Seq: 1, LastID: 1, Taken: time.Now().Add(-900 * time.Millisecond), Channels: []ChannelState{{Name: "old"}}})
	c.Install(Snapshot{Seq: 1, LastID: 1, Taken: time.Now(), ClientID: "me", HasClient: true, Channels: []ChannelState{{Name: "new"}}})
	mustMiss(t, c, comet.ReadQuery{Channels: []string{"old"}}, "of a channel the store may have expired")
	mustHit(t, c, comet.ReadQuery{Channels: []string{"new"}, ClientID: "me", HasClient: true})
	chs, cls, at := c.TakeTouches()
	if !slices.Equal(chs, []string{"new"}) || !slices.Equal(cls, []string{"me"}) {
		t.Fatalf("touches: got %v %v, want [new] [me]", chs, cls)
	}
	if chs, cls, _ := c.TakeTouches(); len(chs)+len(cls) != 0 {
		t.Fatalf("touches taken twice: got %v %v", chs, cls)
	}
	c.Confirm([]string{"old"}, nil, at)
	mustHit(t, c, comet.ReadQuery{Channels: []string{"old"}})
	c.Evict(time.Hour)
	if n, m := c.Size(); n != 2 || m != 1 {
		t.Fatalf("Evict(1h): got %d channels %d clients, want 2 1", n, m)
	}
	time.Sleep(5 * time.Millisecond)
	c.TakeTouches()
	c.Evict(time.Millisecond)
	if n, m := c.Size(); n != 0 || m != 0 {
		t.Fatalf("Evict(1ms): got %d channels %d clients, want none", n, m)
	}
}

func TestAnswersShareNoArrayACallerCanGrow(t *testing.T) {
	c := based(t, Options{MaxChannels: 10})
	res := mustHit(t, c, comet.ReadQuery{Channels: []string{"a"}})
	grown := append(res.Channels[0].Messages, msg(500))
	_ = grown
	c.Apply(msgEvent(11, "a", 101))
	wantIDs(t, ids(mustHit(t, c, comet.ReadQuery{Channels: []string{"a"}}), "a"), 99, 100, 101)
}
