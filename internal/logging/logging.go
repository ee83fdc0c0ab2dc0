// Package logging builds the server's slog.Logger: JSON lines, or a plain
// text format ("TIME LEVEL message key=value ...") whose message is never
// quoted, so that a line such as "listening on 127.0.0.1:8080" can be read
// by people and scripts alike.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ParseLevel reads debug, info, warn (warning) or error.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q", s)
}

// New returns a logger writing to w in format "text" or "json".
func New(w io.Writer, format string, level slog.Level) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(&textHandler{w: w, level: level, mu: &sync.Mutex{}})
}

type textHandler struct {
	w      io.Writer
	level  slog.Level
	mu     *sync.Mutex
	prefix string // preformatted attributes from WithAttrs
	group  string
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	b := make([]byte, 0, 256)
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, ' ')
	b = append(b, r.Level.String()...)
	b = append(b, ' ')
	b = append(b, strings.ReplaceAll(r.Message, "\n", " ")...)
	b = append(b, h.prefix...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.group, a)
		return true
	})
	b = append(b, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(b)
	return err
}

func appendAttr(b []byte, group string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b
	}
	key := a.Key
	if group != "" {
		key = group + "." + key
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			b = appendAttr(b, key, g)
		}
		return b
	}
	b = append(b, ' ')
	b = append(b, key...)
	b = append(b, '=')
	s := a.Value.String()
	if s == "" || strings.ContainsAny(s, " \t\n\"=") || !strconvCanPlain(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func strconvCanPlain(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	var b []byte
	for _, a := range as {
		b = appendAttr(b, h.group, a)
	}
	n.prefix = h.prefix + string(b)
	return &n
}

func (h *textHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	if n.group != "" {
		n.group += "." + name
	} else {
		n.group = name
	}
	return &n
}
