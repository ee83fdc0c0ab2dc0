//go:build unix

package redisengine

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/testutil/redis"
)

func TestParseSentinelURL(t *testing.T) {
	good := []struct {
		in   string
		want sentinelURL
	}{
		{"redis+sentinel://127.0.0.1:26379/mymaster", sentinelURL{addrs: []string{"127.0.0.1:26379"}, master: "mymaster"}},
		{"redis+sentinel://a:1,b:2,[::1]:3/m/4", sentinelURL{addrs: []string{"a:1", "b:2", "[::1]:3"}, master: "m", db: 4}},
		{"redis+sentinel://u:p%40ss@a:1/m?sentinel_username=su&sentinel_password=sp", sentinelURL{addrs: []string{"a:1"}, master: "m", user: "u", pass: "p@ss", sentinelUser: "su", sentinelPass: "sp"}},
		{"redis+sentinel://:secret@a:1/m", sentinelURL{addrs: []string{"a:1"}, master: "m", pass: "secret"}},
	}
	for _, c := range good {
		got, err := parseSentinelURL(c.in)
		if err != nil {
			t.Errorf("%s: got error %v, want %+v", c.in, err, c.want)
			continue
		}
		if strings.Join(got.addrs, ",") != strings.Join(c.want.addrs, ",") || got.master != c.want.master || got.db != c.want.db ||
			got.user != c.want.user || got.pass != c.want.pass || got.sentinelUser != c.want.sentinelUser || got.sentinelPass != c.want.sentinelPass {
			t.Errorf("%s: got %+v, want %+v", c.in, got, c.want)
		}
	}
	for _, in := range []string{
		"redis+sentinel://a:1",         // no master name
		"redis+sentinel://a:1/",        // empty master name
		"redis+sentinel://a/m",         // no port
		"redis+sentinel://a:x/m",       // bad port
		"redis+sentinel://a:1,/m",      // empty address
		"redis+sentinel://a:1/m/x",     // bad db
		"redis+sentinel://a:1/m/0/9",   // too long a path
		"redis+sentinel://a:1/m?x=1",   // unknown parameter
		"redis+sentinel://a:70000/m",   // port out of range
		"redis://a:1/m",                // not this scheme
		"redis+sentinel://a:1/m?%zz=1", // bad query
	} {
		if got, err := parseSentinelURL(in); err == nil {
			t.Errorf("%s: got %+v, want an error", in, got)
		}
	}
	if _, err := New(Options{URL: "redis+sentinel://a:1"}, newRecorder()); err == nil {
		t.Error("New with a Sentinel URL without a master name: got nil error, want one")
	}
}

// TestWaitReplicas: with WaitReplicas 1 a write is acknowledged while the
// replica confirms it, and answered ErrUnavailable within the 2 s bound
// while the replica is stalled — including the EVAL retry that follows a
// NOSCRIPT, which must end with its own WAIT.
func TestWaitReplicas(t *testing.T) {
	primary, replica := replicated(t)
	e, _ := node(t, primary, "w:", Options{WaitReplicas: 1, OpTimeout: 2 * time.Second})
	ctx := bg(t)
	if err := e.RegisterChannel(ctx, "c", comet.ChannelOptions{}); err != nil {
		t.Fatalf("register: got %v, want nil", err)
	}
	if _, err := e.Publish(ctx, "c", "confirmed"); err != nil {
		t.Fatalf("publish: got %v, want nil", err)
	}
	if err := e.RegisterClient(ctx, "k"); err != nil {
		t.Fatalf("register client: got %v, want nil", err)
	}

	replica.Signal(syscall.SIGSTOP)
	stalled := func(what string, op func() error) {
		t.Helper()
		start := time.Now()
		err := op()
		took := time.Since(start)
		if !errors.Is(err, comet.ErrUnavailable) || !errors.Is(err, errNotReplicated) {
			t.Errorf("%s with the replica stalled: got %v, want ErrUnavailable (not replicated)", what, err)
		}
		// WAIT gives up after 1 s and the call is bounded by 2 s; the
		// slack is for a busy machine, not a performance claim.
		if took > 3*time.Second {
			t.Errorf("%s with the replica stalled: answered after %v, want within the 2 s bound", what, took)
		}
	}
	stalled("publish", func() error { _, err := e.Publish(ctx, "c", "unconfirmed"); return err })
	stalled("register", func() error { return e.RegisterChannel(ctx, "d", comet.ChannelOptions{}) })
	stalled("delete", func() error { _, err := e.DeleteClient(ctx, "k"); return err })
	// A promoted replica has an empty script cache: EVALSHA fails, and the
	// EVAL that follows must wait for the replicas too.
	flush := goredis.NewClient(&goredis.Options{Addr: primary.Addr, MaxRetries: -1})
	defer flush.Close()
	if err := flush.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	stalled("publish after SCRIPT FLUSH", func() error { _, err := e.Publish(ctx, "c", "unconfirmed-eval"); return err })
	// Reads and touches do not wait.
	if _, err := e.Read(ctx, comet.ReadQuery{Channels: []string{"c"}}); err != nil {
		t.Errorf("read with the replica stalled: got %v, want nil (reads do not wait)", err)
	}
	if err := e.Touch(ctx, []string{"c"}, nil); err != nil {
		t.Errorf("touch with the replica stalled: got %v, want nil", err)
	}

	replica.Signal(syscall.SIGCONT)
	if err := flush.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := e.Publish(ctx, "c", "after")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish after the replica resumed: got %v, want nil", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// What was answered -5 had happened on the primary (PROTOCOL.md: the
	// outcome is unknown), and the replica has everything now.
	res := mustRead(t, e, comet.ReadQuery{Channels: []string{"c"}})
	got := map[string]bool{}
	for _, m := range res.Channels[0].Messages {
		got[m.Content] = true
	}
	for _, want := range []string{"confirmed", "unconfirmed", "after"} {
		if !got[want] {
			t.Errorf("got messages %v, want %q among them", got, want)
		}
	}
	// The NOSCRIPT met with a short WAIT was answered at once, without
	// running the script.
	if got["unconfirmed-eval"] {
		t.Errorf("got messages %v, want no %q (its script never ran)", got, "unconfirmed-eval")
	}

	// With the replica confirming, a NOSCRIPT is retried with EVAL, and the
	// retry has its own WAIT: two WAITs and one EVAL for this publish.
	calls := func(cmd string) int {
		info, err := flush.Info(ctx, "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if rest, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":calls="); ok {
				n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
				return n
			}
		}
		return 0
	}
	if err := flush.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	waits, evals := calls("wait"), calls("eval")
	if _, err := e.Publish(ctx, "c", "retried"); err != nil {
		t.Fatalf("publish after SCRIPT FLUSH: got %v, want nil", err)
	}
	if got := calls("wait") - waits; got != 2 {
		t.Errorf("WAIT calls for a publish retried after NOSCRIPT: got %d, want 2 (one per attempt)", got)
	}
	if got := calls("eval") - evals; got != 1 {
		t.Errorf("EVAL calls for a publish retried after NOSCRIPT: got %d, want 1", got)
	}
}

// TestRefusesAReplica: every new connection is checked with ROLE, so an
// engine pointed at a replica answers ErrUnavailable to everything (reads
// included) rather than reading stale data or failing writes one by one.
func TestRefusesAReplica(t *testing.T) {
	_, replica := replicated(t)
	rec := newRecorder()
	e, err := New(Options{URL: replica.URL, Prefix: "r:", OpTimeout: time.Second}, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := bg(t)
	if err := e.Ping(ctx); !errors.Is(err, comet.ErrUnavailable) || !strings.Contains(err.Error(), "not a primary") {
		t.Errorf("ping a replica: got %v, want ErrUnavailable (not a primary)", err)
	}
	if _, err := e.Read(ctx, comet.ReadQuery{Channels: []string{"c"}}); !errors.Is(err, comet.ErrUnavailable) {
		t.Errorf("read on a replica: got %v, want ErrUnavailable", err)
	}
	if err := e.RegisterChannel(ctx, "c", comet.ChannelOptions{}); !errors.Is(err, comet.ErrUnavailable) {
		t.Errorf("register on a replica: got %v, want ErrUnavailable", err)
	}
}

// TestIdsTakeTheWatermarkAsFloor: after a failover to a replica whose
// counter lags (here: the counter set back by hand), the next id is still
// above every id this node has seen.
func TestIdsTakeTheWatermarkAsFloor(t *testing.T) {
	srv := redis.Start(t)
	e, _ := node(t, srv, "f:", Options{})
	ctx := bg(t)
	if err := e.RegisterChannel(ctx, "c", comet.ChannelOptions{}); err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer c.Close()
	// An id far ahead of the clock, as a burst (or another node's clock)
	// could have issued before the failover.
	ahead := comet.TimeID(time.Now().Add(time.Hour))
	if err := c.Set(ctx, "f:id", ahead, 0).Err(); err != nil {
		t.Fatal(err)
	}
	first, err := e.Publish(ctx, "c", "before")
	if err != nil || first.ID != ahead+1 {
		t.Fatalf("got %+v, %v, want id %d", first, err, ahead+1)
	}
	// The "promoted replica" never saw it.
	if err := c.Set(ctx, "f:id", 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	second, err := e.Publish(ctx, "c", "after")
	if err != nil || second.ID <= first.ID {
		t.Fatalf("got %+v, %v, want an id above %d", second, err, first.ID)
	}
	// A read's last_id raises the watermark too.
	if err := c.Set(ctx, "f:id", ahead+1000, 0).Err(); err != nil {
		t.Fatal(err)
	}
	mustRead(t, e, comet.ReadQuery{Channels: []string{"c"}})
	if err := c.Set(ctx, "f:id", 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	// The next read's last_id does not go backwards either: the counter
	// is raised to the watermark.
	if res := mustRead(t, e, comet.ReadQuery{Channels: []string{"c"}}); res.LastID != ahead+1000 {
		t.Fatalf("got last_id %d after the counter stepped back, want the %d already seen", res.LastID, ahead+1000)
	}
	third, err := e.Publish(ctx, "c", "later")
	if err != nil || third.ID <= ahead+1000 {
		t.Fatalf("got %+v, %v, want an id above the %d a read saw", third, err, ahead+1000)
	}
}
