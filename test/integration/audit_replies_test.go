package integration

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/rawhttp"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

// wantQuoted checks a --quote-json body: "/*-secure-\nJSON\n*/" with a
// return_code (or, for /health, "ok") inside.
func wantQuoted(t *testing.T, what string, body []byte, key string) {
	t.Helper()
	b := string(body)
	if !strings.HasPrefix(b, "/*-secure-\n") || !strings.HasSuffix(b, "\n*/") {
		t.Fatalf("%s: got body %q, want /*-secure- JSON */", what, b)
	}
	if !strings.Contains(b, `"`+key+`"`) {
		t.Fatalf("%s: got body %q, want %q inside", what, b, key)
	}
}

// "with --quote-json every JSON body, errors included, is /*-secure- JSON */".
func TestAuditQuoteJSONEveryBody(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--quote-json", "--max-body-bytes=100", "--http-timeout=2")
		r := api.Get(t, s.URL, "/health").WantStatus(t, 200)
		wantQuoted(t, "/health", r.Body, "ok")
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("/health: got Content-Type %q, want application/json", ct)
		}
		wantQuoted(t, "405", api.Do(t, s.URL, "PUT", "/channels/a.json", "", nil).WantStatus(t, 405).Body, "return_code")
		wantQuoted(t, "413", api.Do(t, s.URL, "POST", "/channels/a.json", "application/x-www-form-urlencoded", []byte("content="+strings.Repeat("x", 200))).WantStatus(t, 413).Body, "return_code")
		wantQuoted(t, "unknown format", api.Get(t, s.URL, "/channels/a.xml").WantStatus(t, 200).Body, "return_code")
		wantQuoted(t, "status off", api.Get(t, s.URL, "/status.json").WantStatus(t, 404).Body, "return_code")

		// The answer to a connection over --max-connections, too.
		full := e.start(t, "--quote-json", "--max-connections=1", "--http-timeout=5")
		first := rawhttp.Dial(t, full.Addr)
		defer first.Close()
		br := bufio.NewReader(first)
		if _, err := io.WriteString(first, rawhttp.Request("GET", "/health", "")); err != nil {
			t.Fatal(err)
		}
		if rep, err := rawhttp.Read(br, "GET"); err != nil || rep.StatusCode != 200 {
			t.Fatalf("the one allowed connection: got %v %v, want 200", rep, err)
		}
		rep := rawhttp.Send(t, full.Addr, rawhttp.Request("GET", "/health", ""))
		if rep.StatusCode != http.StatusServiceUnavailable || rep.Header.Get("Retry-After") == "" {
			t.Fatalf("over --max-connections: got %d (Retry-After %q), want 503 with Retry-After", rep.StatusCode, rep.Header.Get("Retry-After"))
		}
		wantQuoted(t, "503 over --max-connections", rep.Body, "return_code")
		if code, ok := rep.Code(); !ok || code != -5 {
			t.Fatalf("over --max-connections: got %q, want return_code -5", rep.Body)
		}
	})
}

// The order is "callback/format, -4, -1, ...", and a wrong method is -1: a
// resource that needs the secret for every method answers -4 first. A
// channel's reads are open, so there the method is checked first.
func TestAuditSecretBeforeWrongMethod(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		const secret = "audit-secret"
		s := e.start(t, "--secret="+secret, "--enable-status", "--http-timeout=2")
		send := func(method, path string, auth bool) api.Reply {
			t.Helper()
			var hdr []string
			if auth {
				hdr = []string{"Authorization", "Bearer " + secret}
			}
			return api.DoCtx(t, t.Context(), s.URL, method, path, "", nil, hdr...)
		}
		for _, c := range []struct{ method, path, allow string }{
			{"GET", "/channels.json", "POST"},
			{"PUT", "/clients.json", "POST"},
			{"GET", "/clients/c.json", "DELETE"},
			{"POST", "/status.json", "GET"},
			{"DELETE", "/stats.json", "GET"},
		} {
			t.Run(c.method+" "+c.path, func(t *testing.T) {
				send(c.method, c.path, false).WantStatus(t, 200).WantCode(t, -4)
				r := send(c.method, c.path, true).WantStatus(t, 405)
				r.WantCode(t, -1)
				if got := r.Header.Get("Allow"); got != c.allow {
					t.Fatalf("got Allow %q, want %q", got, c.allow)
				}
			})
		}
		t.Run("a wrong method on a channel is 405 with or without the secret", func(t *testing.T) {
			for _, m := range []string{"PUT", "HEAD", "OPTIONS"} {
				for _, auth := range []bool{false, true} {
					r := send(m, "/channels/a.json", auth).WantStatus(t, 405)
					if got := r.Header.Get("Allow"); got != "GET, POST, DELETE" {
						t.Fatalf("%s (auth %v): got Allow %q, want GET, POST, DELETE", m, auth, got)
					}
				}
			}
		})
	})
}

// "Graceful shutdown on SIGINT/SIGTERM": TestShutdownAnswersHeldPolls
// covers SIGTERM; SIGINT must do the same.
func TestAuditSIGINTAnswersHeldPolls(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Parallel()
		s := e.start(t, "--enable-status", "--http-timeout=60")
		api.Register(t, s.URL, "a")
		json := holdPoll(t, s, "/channels/a.json?since="+farSince, 1)
		jsonp := holdPoll(t, s, "/channels/a.jsonp?since="+farSince, 2)
		if err := syscall.Kill(s.Pid(), syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		rr := api.Wait(t, json, holdBound).Read(t)
		if len(rr.Messages["a"]) != 0 || rr.LastID < rr.Since {
			t.Fatalf("poll at SIGINT: got %+v, want the empty result", rr)
		}
		if b := string(api.Wait(t, jsonp, holdBound).Body); !strings.HasPrefix(b, "/**/_JSONP_comet_cb({") {
			t.Fatalf("JSON-P poll at SIGINT: got %q, want the callback", b)
		}
		select {
		case <-s.Exited():
		case <-time.After(15 * time.Second):
			t.Fatal("no exit within 15s of SIGINT")
		}
		if err := s.Stop(); err != nil {
			t.Fatalf("exit after SIGINT: got %v, want status 0\n%s", err, s.Log())
		}
	})
}

// "Both --name=value and --name value work", booleans included; a listen
// failure exits 1.
func TestAuditSwitchForms(t *testing.T) {
	t.Run("booleans as --name value", func(t *testing.T) {
		t.Parallel()
		on := server.Start(t, "--quote-json", "true", "--enable-status", "1")
		wantQuoted(t, "--quote-json true", api.Get(t, on.URL, "/health").Body, "ok")
		api.Get(t, on.URL, "/status.json").WantStatus(t, 200).WantCode(t, 1)
		off := server.StartEnv(t, []string{"SIMPLE_COMET_QUOTE_JSON=true", "SIMPLE_COMET_ENABLE_STATUS=true"}, "--quote-json", "false", "--enable-status", "FALSE")
		if b := string(api.Get(t, off.URL, "/health").Body); b != `{"ok":true}` {
			t.Fatalf("--quote-json false over the environment: got %q, want {\"ok\":true}", b)
		}
		api.Get(t, off.URL, "/status.json").WantStatus(t, 404)
	})
	t.Run("values as --name value", func(t *testing.T) {
		t.Parallel()
		s := server.Start(t, "--http-timeout", "1", "--messages-per-channel", "2", "--enable-status")
		api.Register(t, s.URL, "v")
		for _, c := range []string{"1", "2", "3"} {
			api.Publish(t, s.URL, "v", c)
		}
		if got := api.Contents(api.ReadNow(t, s.URL, []string{"v"}, "").Messages["v"]); strings.Join(got, "") != "23" {
			t.Fatalf("--messages-per-channel 2: got %q, want [2 3]", got)
		}
		start := time.Now()
		api.Get(t, s.URL, "/channels/v.json?since="+farSince).Read(t)
		if d := time.Since(start); d > 8*time.Second {
			t.Fatalf("--http-timeout 1: held %v, want about 1s", d)
		}
	})
	t.Run("a boolean followed by a non-boolean is still a stray argument", func(t *testing.T) {
		t.Parallel()
		code, _, stderr := runBinary(t, nil, "--http-port=0", "--bind=127.0.0.1", "--quote-json", "maybe")
		if code != 2 || strings.Count(strings.TrimRight(stderr, "\n"), "\n") != 0 {
			t.Fatalf("got exit %d, stderr %q; want 2 and one line", code, stderr)
		}
	})
	t.Run("listen failure exits 1", func(t *testing.T) {
		t.Parallel()
		s := server.Start(t)
		_, port, _ := strings.Cut(s.Addr, ":")
		code, _, stderr := runBinary(t, nil, "--bind=127.0.0.1", "--http-port", port)
		if code != 1 {
			t.Fatalf("listening on a taken port: got exit %d (stderr %q), want 1", code, stderr)
		}
	})
}
