package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// AccessLog logs every request once, after it was answered: method,
// path, query with secret values redacted, status, bytes, duration.
// Message contents never appear (they travel in bodies). A request only
// queues its line: one goroutine writes them, so that a slow log (a full
// pipe to journald) never holds up a request or an event loop. When the
// queue is full a line is dropped and counted, and the count is logged
// once the writer catches up.
type AccessLog struct {
	log     *slog.Logger
	lines   chan accessLine
	dropped atomic.Int64
	done    chan struct{}
	mu      sync.RWMutex // closed and the send on lines
	closed  bool
}

// accessLine is one request, as queued.
type accessLine struct {
	at                  time.Time
	method, path, query string
	remote              string
	status, bytes       int
	parked              bool
	d                   time.Duration
}

// accessQueue is how many lines may wait for the writer.
const accessQueue = 4096

// NewAccessLog starts the writer of an access log into log; Close stops it.
func NewAccessLog(log *slog.Logger) *AccessLog {
	a := &AccessLog{log: log, lines: make(chan accessLine, accessQueue), done: make(chan struct{})}
	go a.write()
	return a
}

// add queues the line of r, or counts it dropped.
func (a *AccessLog) add(r *http.Request, status, n int, parked bool, d time.Duration) {
	l := accessLine{at: time.Now(), method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, remote: r.RemoteAddr,
		status: status, bytes: n, parked: parked, d: d}
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return
	}
	select {
	case a.lines <- l:
	default:
		a.dropped.Add(1)
	}
}

func (a *AccessLog) write() {
	defer close(a.done)
	h := a.log.Handler()
	for l := range a.lines {
		if !h.Enabled(context.Background(), slog.LevelInfo) {
			continue
		}
		rec := slog.NewRecord(l.at, slog.LevelInfo, "request", 0)
		rec.AddAttrs(
			slog.String("method", l.method),
			slog.String("path", l.path),
			slog.String("query", redactQuery(l.query)),
			slog.Int("status", l.status),
			slog.Bool("parked", l.parked),
			slog.Int("bytes", l.bytes),
			slog.Float64("duration_ms", float64(l.d.Microseconds())/1000),
			slog.String("remote", l.remote),
		)
		_ = h.Handle(context.Background(), rec)
		if len(a.lines) == 0 {
			if n := a.dropped.Swap(0); n > 0 {
				a.log.Warn("access log: lines dropped, the log was too slow", "dropped", n)
			}
		}
	}
}

// Close writes the lines queued so far and stops the writer; the lines of
// requests answered after it are not written. Safe to call twice.
func (a *AccessLog) Close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.lines)
	}
	a.mu.Unlock()
	<-a.done
}

// redactQuery replaces the value of every secret parameter, and of every
// content parameter: a publish may carry its message in the query string.
func redactQuery(raw string) string {
	if low := strings.ToLower(raw); !strings.Contains(low, "secret") && !strings.Contains(low, "content") && !strings.Contains(raw, "%") {
		return raw
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil && (strings.EqualFold(dk, "secret") || strings.EqualFold(dk, "content")) {
			parts[i] = k + "=REDACTED"
		}
	}
	return strings.Join(parts, "&")
}
