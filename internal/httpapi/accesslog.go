package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// AccessLog wraps h so that every request is logged once, after it was
// answered: method, path, query with secret values redacted, status,
// bytes, duration. Message contents never appear (they travel in bodies).
func AccessLog(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		status := sw.status()
		if sw.parked {
			status = http.StatusOK // answered later, off this goroutine
		}
		log.Info("request",
			"method", r.Method,
			"path", r.URL.Path,
			"query", redactQuery(r.URL.RawQuery),
			"status", status,
			"parked", sw.parked,
			"bytes", sw.bytes,
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"remote", r.RemoteAddr,
		)
	})
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
