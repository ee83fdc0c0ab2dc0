package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

// TestHangUpLeak: 2,000 polls that hang up while held leave nothing behind:
// held_connections_count and the server's goroutine count ("goroutines" in
// /status.json) return to where they started.
func TestHangUpLeak(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		const total, batch = 2000, 200
		s := e.start(t, "--enable-status", "--http-timeout=60", "--inactive-channel-timeout=0")
		for _, c := range []string{"l0", "l1", "l2"} {
			api.Register(t, s.URL, c)
		}
		// The status requests use their own transport; nothing else stays
		// connected while measuring.
		statusClient := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		measure := func() (held, goroutines int64) {
			t.Helper()
			api.Client.Transport.(*http.Transport).CloseIdleConnections()
			r, err := api.Try(t.Context(), statusClient, s.URL, "GET", "/status.json", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			st := r.Obj(t)["status"].(map[string]any)
			return api.Num(t, st["held_connections_count"]), api.Num(t, st["goroutines"])
		}
		// Warm up once so lazily started goroutines are counted in the base.
		warm, cancel := context.WithCancel(t.Context())
		ch := api.Async(warm, s.URL, "GET", "/channels/l0.json?since=9000000000000000000")
		api.Eventually(t, "warm-up poll held", holdBound, func() bool { h, _ := measure(); return h == 1 })
		cancel()
		<-ch
		var base int64
		api.Eventually(t, "a stable baseline", 20*time.Second, func() bool {
			h, g := measure()
			time.Sleep(200 * time.Millisecond)
			h2, g2 := measure()
			base = g2
			return h == 0 && h2 == 0 && g == g2
		})
		rssBefore := rss(t, s.Pid())

		tr := &http.Transport{MaxIdleConnsPerHost: batch, DisableKeepAlives: true}
		hc := &http.Client{Transport: tr}
		for done := 0; done < total; done += batch {
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			for i := range batch {
				path := "/channels/" + api.List([]string{"l0", "l1", "l2"}[:1+i%3]...) + ".json?since=9000000000000000000"
				wg.Go(func() {
					_, err := api.Try(ctx, hc, s.URL, "GET", path, "", nil)
					if err == nil {
						t.Errorf("a poll was answered, want it held until it hung up")
					}
				})
			}
			api.Eventually(t, fmt.Sprintf("batch at %d held", done), 30*time.Second, func() bool {
				h, _ := measure()
				return h == batch
			})
			cancel()
			wg.Wait()
		}
		var held, g int64
		api.Eventually(t, "held count and goroutines back to the start", 30*time.Second, func() bool {
			held, g = measure()
			return held == 0 && g <= base
		})
		t.Logf("goroutines: %d before, %d after %d hang-ups; RSS %d kB before, %d kB after", base, g, total, rssBefore, rss(t, s.Pid()))
		// The server still works.
		api.Register(t, s.URL, "after")
		api.Publish(t, s.URL, "after", "x")
	})
}

// rss is the process's resident set in kB (for the log only: memory is
// never asserted).
func rss(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var n int64
			fmt.Sscanf(strings.TrimSpace(line[len("VmRSS:"):]), "%d", &n)
			return n
		}
	}
	return -1
}
