package integration

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

func TestHTTPStatus(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--max-body-bytes=100", "--http-timeout=1")
		api.Register(t, s.URL, "a")
		t.Run("unknown path is 404", func(t *testing.T) {
			for _, p := range []string{"/", "/nope", "/channels", "/channelsx.json", "/status.json", "/stats.json", "/status.html", "/metrics", "//channels/a.json"} {
				r := api.Get(t, s.URL, p).WantStatus(t, 404)
				m := r.WantCode(t, -1)
				if m["error_message"] != "Unknown resource" {
					t.Fatalf("GET %s: got error_message %v, want Unknown resource", p, m["error_message"])
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Fatalf("GET %s: got Content-Type %q, want application/json", p, ct)
				}
			}
		})
		t.Run("unknown format", func(t *testing.T) {
			for _, p := range []string{"/channels/a.xml", "/channels/a", "/channels/a.JSON", "/channels.txt", "/clients/x.html"} {
				m := api.Get(t, s.URL, p).WantStatus(t, 200).WantCode(t, -1)
				if m["error_message"] != "Unknown output format" {
					t.Fatalf("GET %s: got error_message %v, want Unknown output format", p, m["error_message"])
				}
			}
		})
		t.Run("wrong method is 405 with Allow", func(t *testing.T) {
			cases := []struct{ method, path, allow string }{
				{"GET", "/channels.json", "POST"},
				{"DELETE", "/channels.json", "POST"},
				{"PUT", "/channels/a.json", "GET, POST, DELETE"},
				{"PATCH", "/channels/a.jsonp", "GET, POST, DELETE"},
				{"HEAD", "/channels/a.json", "GET, POST, DELETE"},
				{"GET", "/clients.json", "POST"},
				{"GET", "/clients/me.json", "DELETE"},
				{"POST", "/clients/me.json", "DELETE"},
			}
			for _, c := range cases {
				r := api.Do(t, s.URL, c.method, c.path, "", nil).WantStatus(t, 405)
				if got := r.Header.Get("Allow"); got != c.allow {
					t.Fatalf("%s %s: got Allow %q, want %q", c.method, c.path, got, c.allow)
				}
				if c.method != "HEAD" {
					r.WantCode(t, -1)
				}
			}
		})
		t.Run("body over the limit is 413", func(t *testing.T) {
			r := api.Post(t, s.URL, "/channels/a.json", url.Values{"content": {strings.Repeat("x", 200)}}).WantStatus(t, 413)
			r.WantCode(t, -1)
			ct, body := multipartBody(t, [][2]string{{"content", strings.Repeat("y", 200)}})
			api.Do(t, s.URL, "POST", "/channels/a.json", ct, body).WantStatus(t, 413).WantCode(t, -1)
			// Not a form, still limited.
			api.Do(t, s.URL, "POST", "/channels/a.json?content=q", "text/plain", []byte(strings.Repeat("z", 200))).WantStatus(t, 413)
			// Under the limit all is well, and nothing was stored above.
			api.Post(t, s.URL, "/channels/a.json", url.Values{"content": {"small"}}).WantStatus(t, 200).WantCode(t, 1)
			if got := api.Contents(api.ReadNow(t, s.URL, []string{"a"}, "").Messages["a"]); len(got) != 1 || got[0] != "small" {
				t.Fatalf("after refused bodies: got %q, want [small]", got)
			}
		})
		t.Run("health and client", func(t *testing.T) {
			r := api.Get(t, s.URL, "/health").WantStatus(t, 200)
			if string(r.Body) != `{"ok":true}` {
				t.Fatalf("health: got %s, want {\"ok\":true}", r.Body)
			}
			for _, p := range []string{"/simple-comet.js", "/simple-comet.min.js"} {
				r := api.Get(t, s.URL, p).WantStatus(t, 200)
				if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/javascript") || len(r.Body) == 0 {
					t.Fatalf("GET %s: got %q, %d bytes; want JavaScript", p, r.Header.Get("Content-Type"), len(r.Body))
				}
			}
		})
	})
}

// A capacity limit is -5: HTTP 503 with Retry-After on .json, 200 on .jsonp.
func TestUnavailable(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--max-channels=1", "--max-clients=1")
		api.Register(t, s.URL, "one")
		api.RegisterClient(t, s.URL, "c1")
		r := api.Post(t, s.URL, "/channels.json", url.Values{"channel_id": {"two"}}).WantStatus(t, 503)
		r.WantCode(t, -5)
		if got := r.Header.Get("Retry-After"); got != "1" {
			t.Fatalf("-5 on .json: got Retry-After %q, want 1", got)
		}
		r = api.Post(t, s.URL, "/clients.json", url.Values{"client_id": {"c2"}}).WantStatus(t, 503)
		r.WantCode(t, -5)
		r = api.Post(t, s.URL, "/channels.jsonp", url.Values{"channel_id": {"two"}}).WantStatus(t, 200)
		m := jsonp(t, r, "_JSONP_comet_cb")
		if api.Num(t, m["return_code"]) != -5 {
			t.Fatalf("-5 on .jsonp: got %v, want return_code -5", m)
		}
		// Precedence: -1 and -2 before -5.
		api.Post(t, s.URL, "/channels.json", url.Values{"channel_id": {"one"}}).WantStatus(t, 200).WantCode(t, -2)
		api.Post(t, s.URL, "/channels.json", url.Values{"channel_id": {"bad|name"}}).WantStatus(t, 200).WantCode(t, -1)
		api.Post(t, s.URL, "/clients.json", url.Values{"client_id": {"c1"}}).WantStatus(t, 200).WantCode(t, -2)
		// Freeing a slot makes room.
		api.Delete(t, s.URL, "/channels/one.json").WantCode(t, 2)
		api.Register(t, s.URL, "two")
	})
}

// Over --max-connections the server accepts, answers 503 -5 and closes.
func TestMaxConnections(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--max-connections=1", "--http-timeout=5")
		api.Register(t, s.URL, "a")
		api.Client.Transport.(*http.Transport).CloseIdleConnections()
		// The held poll must get the only connection; the server may still
		// count the connection just closed, so retry a refused one.
		var held <-chan api.Result
		for try := 0; ; try++ {
			held = api.Async(t.Context(), s.URL, "GET", "/channels/a.json?since=99999999999999999")
			select {
			case res := <-held:
				if try == 20 || res.Err != nil || res.Reply.Status != 503 {
					t.Fatalf("held poll: got (%v, %d), want it held", res.Err, res.Reply.Status)
				}
				time.Sleep(100 * time.Millisecond)
				continue
			case <-time.After(500 * time.Millisecond):
			}
			break
		}
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		r, err := api.Try(t.Context(), c, s.URL, "POST", "/channels/a.json?content=x", "", nil)
		if err != nil {
			t.Fatalf("request over the limit: %v", err)
		}
		r.WantStatus(t, 503).WantCode(t, -5)
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("503 over --max-connections: got no Retry-After, want one")
		}
		api.Wait(t, held, 30e9).WantStatus(t, 200)
	})
}
