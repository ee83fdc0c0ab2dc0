package integration

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

const readCacheControl = "private, must-revalidate, proxy-revalidate, max-age=1, s-max-age=1, stale-while-revalidate=1, stale-if-error=86400"

func TestHeaders(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--enable-status", "--http-timeout=1", "--max-body-bytes=50")
		api.Register(t, s.URL, "h")
		api.Publish(t, s.URL, "h", "x")
		// Every reply to a GET of a channel path is a read reply, errors
		// included (a client's poll loop sees the same headers either way).
		reads := []struct{ name, method, path string }{
			{"read json", "GET", "/channels/h.json"},
			{"read jsonp", "GET", "/channels/h.jsonp"},
			{"read error", "GET", "/channels/missing.json"},
			{"read jsonp error", "GET", "/channels/missing.jsonp"},
			{"read bad name", "GET", "/channels/%01.json"},
			{"read unknown format", "GET", "/channels/h.xml"},
			{"read held then timed out", "GET", "/channels/h.json?since=999999999999999999"},
		}
		for _, c := range reads {
			t.Run(c.name, func(t *testing.T) {
				r := api.Do(t, s.URL, c.method, c.path, "", nil)
				h := r.Header
				for k, want := range map[string]string{
					"X-Content-Type-Options":      "nosniff",
					"X-Accel-Buffering":           "no",
					"Access-Control-Allow-Origin": "*",
					"Cache-Control":               readCacheControl,
				} {
					if got := h.Get(k); got != want {
						t.Fatalf("%s: got %s %q, want %q", c.path, k, got, want)
					}
				}
				exp, err := http.ParseTime(h.Get("Expires"))
				date, err2 := http.ParseTime(h.Get("Date"))
				if err != nil || err2 != nil {
					t.Fatalf("%s: got Expires %q Date %q, want HTTP dates", c.path, h.Get("Expires"), h.Get("Date"))
				}
				if d := exp.Sub(date); d < 0 || d > 2*time.Second {
					t.Fatalf("%s: got Expires %v after Date, want about 1s", c.path, d)
				}
			})
		}
		others := []struct {
			name, method, path string
			body               url.Values
			ct                 string
		}{
			{"register", "POST", "/channels.json", url.Values{"channel_id": {"h2"}}, "application/json"},
			{"publish", "POST", "/channels/h.json", url.Values{"content": {"y"}}, "application/json"},
			{"publish jsonp", "POST", "/channels/h.jsonp", url.Values{"content": {"y"}}, "application/javascript"},
			{"delete", "DELETE", "/channels/h2.json", nil, "application/json"},
			{"client", "POST", "/clients.json", url.Values{"client_id": {"c"}}, "application/json"},
			{"status", "GET", "/status.json", nil, "application/json"},
			{"stats", "GET", "/stats.json", nil, "application/json"},
			{"404", "GET", "/nope", nil, "application/json"},
			{"405", "PUT", "/channels/h.json", nil, "application/json"},
			{"413", "POST", "/channels/h.json", url.Values{"content": {string(make([]byte, 100))}}, "application/json"},
			{"invalid callback", "GET", "/channels/h.jsonp?cb=x", nil, "application/javascript"},
		}
		for _, c := range others {
			t.Run(c.name, func(t *testing.T) {
				var r api.Reply
				if c.body != nil {
					r = api.Do(t, s.URL, c.method, c.path, api.FormType, []byte(c.body.Encode()))
				} else {
					r = api.Do(t, s.URL, c.method, c.path, "", nil)
				}
				h := r.Header
				if got := h.Get("Content-Type"); got != c.ct {
					t.Fatalf("%s %s: got Content-Type %q, want %q", c.method, c.path, got, c.ct)
				}
				if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Fatalf("%s %s: got X-Content-Type-Options %q, want nosniff", c.method, c.path, got)
				}
				if got := h.Get("Cache-Control"); got != "no-store" {
					t.Fatalf("%s %s: got Cache-Control %q, want no-store", c.method, c.path, got)
				}
				if h.Get("Access-Control-Allow-Origin") != "" || h.Get("X-Accel-Buffering") != "" {
					t.Fatalf("%s %s: got read headers on a non-read reply", c.method, c.path)
				}
			})
		}
	})
}
