package redisengine

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/testutil/redis"
)

// evalshaCalls is how many EVALSHA Redis has run.
func evalshaCalls(t *testing.T, c *goredis.Client) int {
	t.Helper()
	info, err := c.Info(bg(t), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_evalsha:calls="); ok {
			n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			return n
		}
	}
	return 0
}

// TestIdenticalReadsShareARoundTrip: many identical reads at once (the
// polls a publish wakes) cost fewer read scripts than callers, and each
// caller gets the whole answer in slices of its own.
func TestIdenticalReadsShareARoundTrip(t *testing.T) {
	srv := redis.Start(t)
	e, _ := node(t, srv, "co:", Options{})
	ctx := bg(t)
	if err := e.RegisterChannel(ctx, "c", comet.ChannelOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := e.Publish(ctx, "c", "hello")
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer c.Close()
	const callers = 200
	before := evalshaCalls(t, c)
	start := make(chan struct{})
	results := make([]comet.ReadResult, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			results[i], errs[i] = e.Read(ctx, comet.ReadQuery{Channels: []string{"c"}, Since: m.ID - 1})
		})
	}
	close(start)
	wg.Wait()
	reads := evalshaCalls(t, c) - before
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: got %v, want nil", i, errs[i])
		}
		got := results[i].Channels
		if len(got) != 1 || len(got[0].Messages) != 1 || got[0].Messages[0].Content != "hello" || results[i].LastID != m.ID {
			t.Fatalf("caller %d: got %+v, want the one message and last_id %d", i, results[i], m.ID)
		}
	}
	results[0].Channels[0].Channel = "mutated"
	for i := 1; i < callers; i++ {
		if results[i].Channels[0].Channel != "c" {
			t.Fatalf("caller %d: got channel %q after caller 0 changed its own slice, want c", i, results[i].Channels[0].Channel)
		}
	}
	if reads >= callers {
		t.Errorf("got %d read scripts for %d identical reads at once, want fewer (shared)", reads, callers)
	}
	t.Logf("%d identical reads at once: %d read scripts", callers, reads)
}

// TestSharedReadsAreNeverOlderThanTheCall: a read that begins after a
// publish returned sees it, however many identical reads are in flight
// around it (a caller never joins a read already sent).
func TestSharedReadsAreNeverOlderThanTheCall(t *testing.T) {
	srv := redis.Start(t)
	e, _ := node(t, srv, "cn:", Options{})
	ctx := bg(t)
	if err := e.RegisterChannel(ctx, "c", comet.ChannelOptions{MaxMessages: 1000}); err != nil {
		t.Fatal(err)
	}
	base := mustRead(t, e, comet.ReadQuery{Channels: []string{"c"}}).LastID
	q := comet.ReadQuery{Channels: []string{"c"}, Since: base}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := e.Read(ctx, q); err != nil {
					t.Error(err)
					return
				}
				// Most of these reads are answered from the local copy,
				// without I/O: a pause keeps eight of them from starving
				// the publisher of the two cores.
				time.Sleep(100 * time.Microsecond)
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	for i := range 100 {
		content := fmt.Sprint(i)
		if _, err := e.Publish(ctx, "c", content); err != nil {
			t.Fatal(err)
		}
		res := mustRead(t, e, q)
		msgs := res.Channels[0].Messages
		if len(msgs) != i+1 || msgs[i].Content != content {
			t.Fatalf("read after publish %d: got %d messages (last %+v), want %d ending with %q", i, len(msgs), msgs[len(msgs)-1:], i+1, content)
		}
	}
}
