package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/h1"
)

// blockingHandler is a slog handler whose writes wait until it is let go,
// as a full pipe to a log collector does.
type blockingHandler struct {
	slog.Handler
	gate chan struct{}
	once sync.Once
}

func (b *blockingHandler) Handle(ctx context.Context, r slog.Record) error {
	<-b.gate
	return b.Handler.Handle(ctx, r)
}

func (b *blockingHandler) release() { b.once.Do(func() { close(b.gate) }) }

// A log that does not take its lines holds up no request: lines beyond the
// queue are dropped and counted, and the count is logged once the log
// takes lines again; every queued line is written by Close.
func TestAccessLogNeverBlocks(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	bh := &blockingHandler{Handler: slog.NewTextHandler(&lockedWriter{w: &out, mu: &mu}, nil), gate: make(chan struct{})}
	defer bh.release()
	a := NewAccessLog(slog.New(bh))
	r, _ := http.NewRequest("GET", "/channels/a.json?since=1&secret=s3cr3t", nil)
	const lines = accessQueue + 500
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range lines {
			a.add(r, 200, 10, false, time.Millisecond)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("requests waited for the log")
	}
	if n := a.dropped.Load(); n < 500-1 {
		t.Errorf("dropped %d lines, want at least %d", n, 500-1)
	}
	bh.release()
	a.Close()
	a.Close()                                  // twice: harmless
	a.add(r, 200, 10, false, time.Millisecond) // after Close: not written, no panic
	mu.Lock()
	log := out.String()
	mu.Unlock()
	if got := strings.Count(log, "msg=request"); got < accessQueue || got > accessQueue+1 {
		t.Errorf("got %d request lines, want the %d queued", got, accessQueue)
	}
	if !strings.Contains(log, "lines dropped") || strings.Contains(log, "s3cr3t") || !strings.Contains(log, "secret=REDACTED") {
		t.Errorf("got no count of dropped lines, or the secret unredacted:\n%.400s", log)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// With an access log the fast path is still taken, and its requests are
// logged too.
func TestAccessLogKeepsTheFastPath(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	a := NewAccessLog(slog.New(slog.NewTextHandler(&lockedWriter{w: &out, mu: &mu}, nil)))
	h := fuzzHandler(t, 0)
	h.opts.AccessLog = a
	req := rawPublish("/channels/a.json", "", "application/x-www-form-urlencoded", "", []byte("content=hi"))
	r, body, _ := parse(req)
	if resp, v := h.ServeFast(nil, r, body); v != h1.Served || len(resp) == 0 {
		t.Fatalf("a publish with an access log: got verdict %d, want served by the fast path", v)
	}
	a.Close()
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(out.String(), "path=/channels/a.json") || !strings.Contains(out.String(), "status=200") {
		t.Errorf("the fast publish was not logged: %q", out.String())
	}
}
