package redisengine

import (
	"sync"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/enginetest"
	"github.com/simple-comet/simple-comet/internal/testutil/redis"
)

// TestEngineSuite runs the shared engine suite on a real redis-server: one
// per subtest, so that every subtest starts empty and a second open in the
// same subtest (a restart) finds what the first stored.
func TestEngineSuite(t *testing.T) { runSuite(t, 0) }

// TestEngineSuiteWaitingForAReplica runs the suite with WaitReplicas 1 on a
// primary with one replica: waiting for the replica changes no rule.
func TestEngineSuiteWaitingForAReplica(t *testing.T) { runSuite(t, 1) }

func runSuite(t *testing.T, waitReplicas int) {
	var mu sync.Mutex
	servers := map[*testing.T]*redis.Server{}
	enginetest.Run(t, func(t *testing.T, n comet.Notifier, o enginetest.Options) comet.Engine {
		t.Helper()
		mu.Lock()
		srv := servers[t]
		mu.Unlock()
		if srv == nil {
			if waitReplicas > 0 {
				srv, _ = replicated(t)
			} else {
				srv = redis.Start(t)
			}
			mu.Lock()
			servers[t] = srv
			mu.Unlock()
			t.Cleanup(func() { mu.Lock(); delete(servers, t); mu.Unlock() })
		}
		rec, _ := n.(*enginetest.Recorder)
		resyncs := 0
		if rec != nil {
			resyncs = rec.Count("", comet.WakeResync)
		}
		e, err := New(Options{
			URL:                srv.URL,
			Prefix:             "suite:",
			ChannelTimeout:     o.ChannelTimeout,
			SessionTimeout:     o.SessionTimeout,
			DefaultMaxMessages: o.DefaultMaxMessages,
			MaxChannels:        o.MaxChannels,
			MaxClients:         o.MaxClients,
			WaitReplicas:       waitReplicas,
			OpTimeout:          2 * time.Second,
		}, n)
		if err != nil {
			t.Fatal(err)
		}
		// The doorbell subscription comes up in the background, and a
		// doorbell rung before it is up is covered by the re-read of every
		// held poll (WakeResync) that follows it, not by a Notify: the
		// suite, which counts Notify calls, starts once it is up.
		if rec != nil {
			rec.WaitCount(t, "", comet.WakeResync, resyncs+1, 10*time.Second)
		}
		return faulty{e}
	})
}

// faulty is the engine with the stream faults the suite drills.
type faulty struct{ *Engine }

func (f faulty) SkipStream(n int)             { f.faults.skipping.Add(int64(n)) }
func (f faulty) ReconnectStream()             { f.reconnect() }
func (f faulty) PauseStream() (resume func()) { return f.faults.pause() }
