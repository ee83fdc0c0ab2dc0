package memengine

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/enginetest"
)

// step is one action at a point in fake time, counted from registration.
type step struct {
	at time.Duration
	do string // "read", "touch", "publish" (publishing keeps nothing alive)
}

var channelExpiryCases = []struct {
	name    string
	timeout time.Duration
	steps   []step
	check   time.Duration // when to look
	alive   bool
}{
	{"untouched, before the timeout", 90 * time.Second, nil, 89 * time.Second, true},
	{"untouched, after the timeout", 90 * time.Second, nil, 91 * time.Second, false},
	{"read restarts the clock", 90 * time.Second, []step{{60 * time.Second, "read"}}, 149 * time.Second, true},
	{"read, then expires", 90 * time.Second, []step{{60 * time.Second, "read"}}, 151 * time.Second, false},
	{"touch restarts the clock", 90 * time.Second, []step{{80 * time.Second, "touch"}, {160 * time.Second, "touch"}}, 249 * time.Second, true},
	{"publishing keeps nothing alive", 90 * time.Second, []step{{30 * time.Second, "publish"}, {60 * time.Second, "publish"}, {89 * time.Second, "publish"}}, 91 * time.Second, false},
	{"zero never expires", 0, nil, 1000 * time.Hour, true},
}

func TestChannelExpiry(t *testing.T) {
	for _, c := range channelExpiryCases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := enginetest.NewRecorder()
				e := New(Options{ChannelTimeout: c.timeout}, rec)
				defer e.Close()
				ctx := context.Background()
				if err := e.RegisterChannel(ctx, "ch", comet.ChannelOptions{}); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				for _, s := range c.steps {
					time.Sleep(s.at - time.Since(start))
					var err error
					switch s.do {
					case "read":
						_, err = e.Read(ctx, comet.ReadQuery{Channels: []string{"ch"}})
					case "touch":
						err = e.Touch(ctx, []string{"ch"}, nil)
					case "publish":
						_, err = e.Publish(ctx, "ch", "x")
					}
					if err != nil {
						t.Fatalf("%s at %v: got %v, want nil", s.do, s.at, err)
					}
				}
				time.Sleep(c.check - time.Since(start))
				synctest.Wait() // let the sweeper finish what is due
				_, err := e.Publish(ctx, "ch", "probe")
				if alive := err == nil; alive != c.alive {
					t.Fatalf("at %v: got alive %v (publish: %v), want %v", c.check, alive, err, c.alive)
				}
				e.mu.RLock()
				_, inMap := e.channels["ch"]
				users := e.users
				e.mu.RUnlock()
				deleted := rec.Count("ch", comet.WakeDeleted)
				if c.alive && (!inMap || users != 1 || deleted != 0) {
					t.Fatalf("live channel: got in map %v, users %d, deleted notifications %d; want true, 1, 0", inMap, users, deleted)
				}
				if !c.alive && (inMap || users != 0 || deleted != 1) {
					// The sweeper runs at most a second after expiry.
					t.Fatalf("expired channel: got in map %v, users %d, deleted notifications %d; want false, 0, 1", inMap, users, deleted)
				}
			})
		})
	}
}

var sessionExpiryCases = []struct {
	name  string
	steps []step
	check time.Duration
	alive bool
}{
	{"before the timeout", nil, 59 * time.Second, true},
	{"after the timeout", nil, 61 * time.Second, false},
	{"read restarts the clock", []step{{50 * time.Second, "read"}}, 109 * time.Second, true},
	{"read, then expires", []step{{50 * time.Second, "read"}}, 111 * time.Second, false},
	{"touch restarts the clock", []step{{55 * time.Second, "touch"}, {110 * time.Second, "touch"}}, 169 * time.Second, true},
}

func TestSessionExpiry(t *testing.T) {
	for _, c := range sessionExpiryCases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := New(Options{SessionTimeout: 60 * time.Second}, enginetest.NewRecorder())
				defer e.Close()
				ctx := context.Background()
				if err := e.RegisterChannel(ctx, "ch", comet.ChannelOptions{}); err != nil {
					t.Fatal(err)
				}
				if err := e.RegisterClient(ctx, "me"); err != nil {
					t.Fatal(err)
				}
				q := comet.ReadQuery{Channels: []string{"ch"}, ClientID: "me", HasClient: true}
				start := time.Now()
				for _, s := range c.steps {
					time.Sleep(s.at - time.Since(start))
					var err error
					if s.do == "read" {
						_, err = e.Read(ctx, q)
					} else {
						err = e.Touch(ctx, nil, []string{"me"})
					}
					if err != nil {
						t.Fatalf("%s at %v: got %v, want nil", s.do, s.at, err)
					}
				}
				time.Sleep(c.check - time.Since(start))
				synctest.Wait()
				e.mu.RLock()
				_, inMap := e.clients["me"]
				e.mu.RUnlock()
				if inMap != c.alive {
					t.Fatalf("at %v: got client in map %v, want %v", c.check, inMap, c.alive)
				}
				_, err := e.Read(ctx, q)
				if alive := err == nil; alive != c.alive {
					t.Fatalf("at %v: got read error %v, want alive %v", c.check, err, c.alive)
				}
				if !c.alive && !errors.Is(err, comet.ErrUnknownClient) {
					t.Fatalf("expired client: got %v, want %v", err, comet.ErrUnknownClient)
				}
			})
		})
	}
}

// An expired channel not yet swept is already gone for every operation, and
// registering its name again announces the old one's end.
func TestExpiredBeforeSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := enginetest.NewRecorder()
		// Sweeps every second: step in between them.
		e := New(Options{ChannelTimeout: 10 * time.Second}, rec)
		defer e.Close()
		ctx := context.Background()
		if err := e.RegisterChannel(ctx, "ch", comet.ChannelOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10*time.Second + 500*time.Millisecond)
		e.mu.RLock()
		_, inMap := e.channels["ch"]
		e.mu.RUnlock()
		if !inMap {
			t.Fatal("setup: the sweeper already ran; want the channel still in the map")
		}
		if _, err := e.Publish(ctx, "ch", "x"); !errors.Is(err, comet.ErrNoChannel) {
			t.Fatalf("publish: got %v, want %v", err, comet.ErrNoChannel)
		}
		if removed, _ := e.DeleteChannel(ctx, "ch"); removed {
			t.Fatal("delete of an expired channel: got removed true, want false")
		}
		if err := e.RegisterChannel(ctx, "ch", comet.ChannelOptions{}); err != nil {
			t.Fatalf("register again: got %v, want nil", err)
		}
		if got := rec.Count("ch", comet.WakeDeleted); got != 1 {
			t.Fatalf("deleted notifications: got %d, want 1", got)
		}
		e.mu.RLock()
		users := e.users
		e.mu.RUnlock()
		if users != 1 {
			t.Fatalf("user channel count: got %d, want 1", users)
		}
	})
}

var sweepIntervalCases = []struct {
	name             string
	channel, session time.Duration
	want             time.Duration
}{
	{"nothing expires", 0, 0, 0},
	{"a tenth of the shorter", 5 * time.Second, 3 * time.Second, 300 * time.Millisecond},
	{"capped at a second", 90 * time.Second, 60 * time.Second, time.Second},
	{"at least 10ms", 0, 50 * time.Millisecond, 10 * time.Millisecond},
}

func TestSweepInterval(t *testing.T) {
	for _, c := range sweepIntervalCases {
		t.Run(c.name, func(t *testing.T) {
			if got := sweepInterval(Options{ChannelTimeout: c.channel, SessionTimeout: c.session}); got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

// A restart right after a burst: the new engine's ids stay above, in fake
// time too.
func TestRestartAfterBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		e := New(Options{}, enginetest.NewRecorder())
		if err := e.RegisterChannel(ctx, "ch", comet.ChannelOptions{}); err != nil {
			t.Fatal(err)
		}
		var last comet.Message
		for range 1000 { // fake time stands still: ids run 1000 units ahead
			last, _ = e.Publish(ctx, "ch", "x")
		}
		e.Close()
		e2 := New(Options{}, enginetest.NewRecorder())
		defer e2.Close()
		if err := e2.RegisterChannel(ctx, "ch", comet.ChannelOptions{}); err != nil {
			t.Fatal(err)
		}
		m, err := e2.Publish(ctx, "ch", "after")
		if err != nil || m.ID <= last.ID {
			t.Fatalf("first id after restart: got (%d, %v), want above %d", m.ID, err, last.ID)
		}
	})
}
