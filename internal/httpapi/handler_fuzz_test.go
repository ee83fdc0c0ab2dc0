package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/memengine"
	"github.com/simple-comet/simple-comet/internal/parking"
)

const fuzzSecret = "fuzz-secret"

// fuzzHandler is a handler over a fresh memory engine holding a plain
// channel "a" with two messages, a session channel "s" and a client "c1".
// Options come from the fuzzer's flags: 1 quote-json, 2 secret, 4 status.
func fuzzHandler(t testing.TB, flags uint8) *Handler {
	return fuzzHandlerWith(t, flags, time.Millisecond, nil, 4)
}

// fuzzHandlerWith is fuzzHandler with a hold, a Lot that parks held polls
// (nil: none) and room for maxHeld polls.
func fuzzHandlerWith(t testing.TB, flags uint8, hold time.Duration, lot *parking.Lot, maxHeld int) *Handler {
	t.Helper()
	hub := comet.NewHub(maxHeld)
	eng := memengine.New(memengine.Options{DefaultMaxMessages: 3, MaxChannels: 8, MaxClients: 8}, hub)
	svc := comet.NewService(eng, hub, hold, 0)
	t.Cleanup(func() { hub.Shutdown(); svc.Close(); eng.Close() })
	ctx := context.Background()
	for _, err := range []error{
		eng.RegisterChannel(ctx, "a", comet.ChannelOptions{}),
		eng.RegisterChannel(ctx, "s", comet.ChannelOptions{UseSessions: true}),
		eng.RegisterChannel(ctx, comet.StatusChannel, comet.ChannelOptions{}),
		eng.RegisterClient(ctx, "c1"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"one", "two\u2028*/</script>"} {
		if _, err := eng.Publish(ctx, "a", c); err != nil {
			t.Fatal(err)
		}
	}
	opts := Options{
		QuoteJSON: flags&1 != 0, EnableStatus: flags&4 != 0,
		MaxBodyBytes: fuzzBodyLimit, MaxChannelsPerRead: 5, MaxMessagesLimit: 10, MaxNameBytes: 32,
		RequestTimeout: time.Second, NodeID: "fuzz", Version: "test",
		Assets:  map[string]Asset{"/status.html": {ContentType: "text/html", Body: []byte("<p>"), Protected: true}},
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("metrics\n")) }),
		Lot:     lot,
	}
	if flags&2 != 0 {
		opts.Secret = fuzzSecret
	}
	return New(svc, opts)
}

// requestSeeds are whole requests: method, path, query, content type, body.
var requestSeeds = []struct{ method, path, query, ct, body string }{
	{"GET", "/channels/a.json", "since=0", "", ""},
	{"GET", "/channels/a.jsonp", "cb=_JSONP_x&since=1", "", ""},
	{"GET", "/channels/a.jsonp", "cb=alert(1)", "", ""},
	{"GET", "/channels/a|s.json", "client_id=c1", "", ""},
	{"GET", "/channels/s.json", "client_id=nobody", "", ""},
	{"GET", "/channels/nothing.json", "", "", ""},
	{"GET", "/channels/a|b|c|d|e|f.json", "", "", ""},
	{"GET", "/channels/$status.json", "secret=" + fuzzSecret, "", ""},
	{"GET", "/channels/a\xff.json", "", "", ""},
	{"HEAD", "/channels/a.json", "", "", ""},
	{"POST", "/channels.json", "", "application/x-www-form-urlencoded", "channel_id=new&max_messages=5&use_sessions=on"},
	{"POST", "/channels.json", "", "application/x-www-form-urlencoded", "channel_id=$x"},
	{"POST", "/channels.json", "max_messages=0", "application/x-www-form-urlencoded", "channel_id=n2"},
	{"POST", "/channels.jsonp", "cb=_JSONP_ok", "multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data; name=\"channel_id\"\r\n\r\nmp\r\n--B--\r\n"},
	{"POST", "/channels/a.json", "", "application/x-www-form-urlencoded", "content=hi%E2%80%A8there"},
	{"POST", "/channels/a.json", "secret=" + fuzzSecret, "application/x-www-form-urlencoded", "content=%ff"},
	{"POST", "/channels/missing.json", "content=x", "", ""},
	{"POST", "/channels/a.json", "", "application/x-www-form-urlencoded", strings.Repeat("x", fuzzBodyLimit+1)},
	{"DELETE", "/channels/a.json", "", "", ""},
	{"DELETE", "/channels/$status.json", "", "", ""},
	{"POST", "/clients.json", "client_id=c2", "", ""},
	{"DELETE", "/clients/c1.jsonp", "", "", ""},
	{"GET", "/status.json", "", "", ""},
	{"GET", "/stats.jsonp", "cb=_JSONP_s", "", ""},
	{"GET", "/status.html", "secret=nope", "", ""},
	{"GET", "/metrics", "", "", ""},
	{"GET", "/health", "", "", ""},
	{"PUT", "/channels/a.json", "", "", ""},
	{"GET", "/channels/a.xml", "", "", ""},
	{"GET", "/nowhere", "", "", ""},
	{"BREW", "*", "", "", ""},
}

func FuzzHandler(f *testing.F) {
	for _, s := range requestSeeds {
		for _, flags := range []uint8{0, 1, 2, 7} {
			f.Add(s.method, s.path, s.query, s.ct, []byte(s.body), flags)
		}
	}
	f.Fuzz(func(t *testing.T, method, path, query, ct string, body []byte, flags uint8) {
		h := fuzzHandler(t, flags)
		r := fuzzRequest(method, ct, query, body, flags&8 != 0)
		r.URL.Path = path
		if flags&16 != 0 {
			r.Header.Set("Authorization", "Bearer "+fuzzSecret)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		checkReply(t, w, flags&1 != 0)
		// With a secret, a request that cannot carry it (no bearer, and no
		// way to spell "secret" in a parameter) changes nothing and reads
		// no reserved channel.
		raw := strings.ToLower(query + string(body))
		unauthorised := flags&2 != 0 && flags&16 == 0 && !strings.Contains(raw, "secret") && !strings.ContainsAny(raw, "%\\*")
		protectedRead := strings.Contains(path, comet.ReservedPrefix) || strings.HasPrefix(path, "/status") || strings.HasPrefix(path, "/stats")
		if unauthorised && (method != http.MethodGet || protectedRead) && apiCode(w) >= 1 {
			t.Fatalf("%s %s without the secret: got %q, want -4", method, path, w.Body.String())
		}
		if unauthorised && (path == "/metrics" || path == "/status.html") && w.Code == 200 && apiCode(w) != codeForbidden {
			t.Fatalf("%s %s without the secret: got %d %q, want -4", method, path, w.Code, w.Body.String())
		}
	})
}

// checkReply asserts that a reply is one PROTOCOL.md allows: a known status,
// nosniff, and a body that is valid JSON, JSON-P around valid JSON, the
// invalid-callback comment, or (for non-API resources) their own content.
func checkReply(t *testing.T, w *httptest.ResponseRecorder, quote bool) {
	t.Helper()
	switch w.Code {
	case 200, 206, 304, 404, 405, 413, 416, 503:
	default:
		t.Fatalf("got status %d, want one PROTOCOL.md lists", w.Code)
	}
	if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" && w.Code != 304 {
		t.Fatalf("got X-Content-Type-Options %q, want nosniff", got)
	}
	if w.Code == 405 && w.Header().Get("Allow") == "" {
		t.Fatal("got 405 without Allow, want Allow")
	}
	body := w.Body.Bytes()
	ct := w.Header().Get("Content-Type")
	switch {
	case ct == ctJS:
		if string(body) == invalidCallbackBody {
			return
		}
		s := string(body)
		open := strings.IndexByte(s, '(')
		if !strings.HasPrefix(s, "/**/") || open < 0 || !strings.HasSuffix(s, ");") {
			t.Fatalf("got JSON-P body %q, want /**/CB(JSON);", s)
		}
		if cb := s[4:open]; !validCallback(cb) {
			t.Fatalf("got callback %q, want a valid one", cb)
		}
		if strings.ContainsAny(s, "\u2028\u2029") {
			t.Fatalf("got raw U+2028/U+2029 in JSON-P %q", s)
		}
		checkAPIObject(t, w, []byte(s[open+1:len(s)-2]))
	case ct == ctJSON:
		if quote { // every JSON body, /health's included
			inner, ok := bytes.CutPrefix(body, []byte("/*-secure-\n"))
			if !ok || !bytes.HasSuffix(inner, []byte("\n*/")) {
				t.Fatalf("got %q, want a /*-secure- */ body", body)
			}
			inner = inner[:len(inner)-3]
			if bytes.Contains(inner, []byte("*/")) {
				t.Fatalf("got %q, whose content closes the comment", body)
			}
			body = inner
		}
		if !json.Valid(body) {
			t.Fatalf("got invalid JSON %q", body)
		}
		if bytes.HasPrefix(body, []byte(`{"ok"`)) { // /health
			return
		}
		checkAPIObject(t, w, body)
	case w.Code == 200 || w.Code == 206 || w.Code == 304 || w.Code == 416:
		// An asset or /metrics: its own content.
	default:
		t.Fatalf("got status %d with Content-Type %q, want a JSON body", w.Code, ct)
	}
}

// checkAPIObject checks the return code against the HTTP status.
func checkAPIObject(t *testing.T, w *httptest.ResponseRecorder, obj []byte) {
	t.Helper()
	var reply struct {
		Code *int    `json:"return_code"`
		Msg  *string `json:"error_message"`
	}
	if err := json.Unmarshal(obj, &reply); err != nil || reply.Code == nil || reply.Msg == nil {
		t.Fatalf("got %q, want an object with return_code and error_message (%v)", obj, err)
	}
	code := *reply.Code
	switch {
	case code >= 1 && *reply.Msg != "":
		t.Fatalf("got return_code %d with error_message %q, want \"\"", code, *reply.Msg)
	case code < 0 && *reply.Msg == "":
		t.Fatalf("got return_code %d without an error_message", code)
	case code == 0 || code < -5 || code > 2:
		t.Fatalf("got return_code %d, want 1, 2 or -1…-5", code)
	}
	jsonp := w.Header().Get("Content-Type") == ctJS
	if code == codeUnavailable && !jsonp && (w.Code != 503 || w.Header().Get("Retry-After") == "") {
		t.Fatalf("got -5 with status %d Retry-After %q, want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if w.Code == 503 && code != codeUnavailable {
		t.Fatalf("got status 503 with return_code %d, want -5", code)
	}
	if w.Code == 413 && code != codeMalformed {
		t.Fatalf("got 413 with return_code %d, want -1", code)
	}
}

// apiCode is the return code of an API reply, 0 for anything else.
func apiCode(w *httptest.ResponseRecorder) int {
	b := w.Body.Bytes()
	if s := string(b); strings.HasPrefix(s, "/**/") {
		if i := strings.IndexByte(s, '('); i > 0 && strings.HasSuffix(s, ");") {
			b = []byte(s[i+1 : len(s)-2])
		}
	}
	b, _ = bytes.CutPrefix(b, []byte("/*-secure-\n"))
	b, _ = bytes.CutSuffix(b, []byte("\n*/"))
	var reply struct {
		Code int `json:"return_code"`
	}
	_ = json.Unmarshal(b, &reply)
	return reply.Code
}
