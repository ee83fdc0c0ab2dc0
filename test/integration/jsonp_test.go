package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/rawhttp"
)

// jsonp checks a JSON-P body /**/CB(JSON); with its headers and returns
// the JSON object.
func jsonp(t testing.TB, r api.Reply, cb string) map[string]any {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/javascript" {
		t.Fatalf("JSON-P: got Content-Type %q, want application/javascript", ct)
	}
	prefix, suffix := "/**/"+cb+"(", ");"
	b := r.Body
	if !bytes.HasPrefix(b, []byte(prefix)) || !bytes.HasSuffix(b, []byte(suffix)) {
		t.Fatalf("JSON-P body %q: want %sJSON%s", b, prefix, suffix)
	}
	inner := b[len(prefix) : len(b)-len(suffix)]
	d := json.NewDecoder(bytes.NewReader(inner))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("JSON-P body %q: invalid JSON inside: %v", b, err)
	}
	return m
}

func TestJSONP(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--http-timeout=1")
		api.Register(t, s.URL, "a")
		api.Publish(t, s.URL, "a", "line\u2028sep\u2029para </script>")
		t.Run("default callback", func(t *testing.T) {
			r := api.Get(t, s.URL, "/channels/a.jsonp").WantStatus(t, 200)
			m := jsonp(t, r, "_JSONP_comet_cb")
			if api.Num(t, m["return_code"]) != 1 {
				t.Fatalf("got %v, want return_code 1", m)
			}
			if bytes.Contains(r.Body, []byte("\u2028")) || bytes.Contains(r.Body, []byte("\u2029")) {
				t.Fatalf("JSON-P body %q: got raw U+2028/U+2029, want them escaped", r.Body)
			}
			if !bytes.Contains(r.Body, []byte(`\u2028`)) || !bytes.Contains(r.Body, []byte(`\u2029`)) {
				t.Fatalf("JSON-P body %q: want \\u2028 and \\u2029", r.Body)
			}
			if bytes.Contains(r.Body, []byte("</script>")) {
				t.Fatalf("JSON-P body %q: got a raw </script>", r.Body)
			}
			msgs := m["messages"].(map[string]any)["a"].([]any)
			if c := msgs[0].(map[string]any)["content"]; c != "line\u2028sep\u2029para </script>" {
				t.Fatalf("content: got %q, want it intact", c)
			}
		})
		t.Run("given callback", func(t *testing.T) {
			for _, cb := range []string{"_JSONP_x", "_JSONP_a.b$c_1", "_JSONP_" + strings.Repeat("z", 57)} {
				jsonp(t, api.Get(t, s.URL, "/channels/a.jsonp?cb="+url.QueryEscape(cb)).WantStatus(t, 200), cb)
			}
			// The first cb counts.
			jsonp(t, api.Get(t, s.URL, "/channels/a.jsonp?cb=_JSONP_first&cb=_JSONP_second"), "_JSONP_first")
		})
		t.Run("errors as JSON-P", func(t *testing.T) {
			for _, c := range []struct {
				method, path string
				want         int64
			}{
				{"GET", "/channels/missing.jsonp?cb=_JSONP_e", -2},
				{"POST", "/channels/missing.jsonp?cb=_JSONP_e&content=x", -2},
				{"POST", "/channels.jsonp?cb=_JSONP_e", -1},
				{"GET", "/channels/a.jsonp?cb=_JSONP_e&client_id=nobody", -3},
				{"DELETE", "/channels/missing.jsonp?cb=_JSONP_e", 1},
				{"POST", "/clients.jsonp?cb=_JSONP_e&client_id=me", 1},
				{"DELETE", "/clients/me.jsonp?cb=_JSONP_e", 2},
			} {
				m := jsonp(t, api.Do(t, s.URL, c.method, c.path, "", nil).WantStatus(t, 200), "_JSONP_e")
				if got := api.Num(t, m["return_code"]); got != c.want {
					t.Fatalf("%s %s: got return_code %d, want %d", c.method, c.path, got, c.want)
				}
			}
		})
		t.Run("invalid callback", func(t *testing.T) {
			for _, cb := range []string{"alert", "_jsonp_x", "_JSONP_a(1)", "_JSONP_</script>", "_JSONP_" + strings.Repeat("z", 58), "", "_JSONP_a b", "_JSONP_é"} {
				for _, c := range []struct{ method, path string }{
					{"GET", "/channels/a.jsonp"},
					{"POST", "/channels/a.jsonp?content=must-not-be-stored"},
					{"POST", "/channels.jsonp?channel_id=must-not-exist"},
					{"DELETE", "/channels/a.jsonp"},
					{"PUT", "/channels/a.jsonp"},
				} {
					r := api.Do(t, s.URL, c.method, c.path+sep(c.path)+"cb="+url.QueryEscape(cb), "", nil).WantStatus(t, 200)
					if string(r.Body) != "/* invalid JSONP callback name */" {
						t.Fatalf("cb %q on %s %s: got %q, want the fixed comment", cb, c.method, c.path, r.Body)
					}
					if ct := r.Header.Get("Content-Type"); ct != "application/javascript" {
						t.Fatalf("cb %q: got Content-Type %q, want application/javascript", cb, ct)
					}
					if r.Header.Get("X-Content-Type-Options") != "nosniff" {
						t.Fatalf("cb %q: got no nosniff header", cb)
					}
				}
			}
			// Nothing was done.
			rr := api.ReadNow(t, s.URL, []string{"a"}, "")
			if len(rr.Messages["a"]) != 1 {
				t.Fatalf("after invalid callbacks: got %d messages, want 1 (nothing published)", len(rr.Messages["a"]))
			}
			api.Post(t, s.URL, "/channels.json", url.Values{"channel_id": {"must-not-exist"}}).WantCode(t, 1)
		})
		t.Run("callback before format and method", func(t *testing.T) {
			// A bad cb on a .jsonp path wins over everything else.
			r := api.Get(t, s.URL, "/channels/bad%7C%01.jsonp?cb=nope&client_id=")
			if string(r.Body) != "/* invalid JSONP callback name */" {
				t.Fatalf("got %q, want the invalid callback comment", r.Body)
			}
		})
	})
}

func sep(p string) string {
	if strings.Contains(p, "?") {
		return "&"
	}
	return "?"
}

func TestQuoteJSON(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--quote-json", "--http-timeout=1")
		api.Register(t, s.URL, "q")
		evil := "*/ alert(1); /* </script> a/b \u2028"
		api.Publish(t, s.URL, "q", evil)
		check := func(t *testing.T, r api.Reply) {
			t.Helper()
			b := string(r.Body)
			if !strings.HasPrefix(b, "/*-secure-") || !strings.HasSuffix(b, "*/") {
				t.Fatalf("quoted body %q: want /*-secure- ... */", b)
			}
			inner := b[len("/*-secure-") : len(b)-len("*/")]
			if strings.Contains(inner, "*/") {
				t.Fatalf("quoted body %q: the content closes the comment early", b)
			}
			if strings.Contains(inner, "/") && !strings.Contains(inner, `\/`) {
				t.Fatalf("quoted body %q: got a raw /, want \\/", b)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("got Content-Type %q, want application/json", ct)
			}
		}
		r := api.Get(t, s.URL, "/channels/q.json")
		check(t, r)
		if got := api.Contents(r.Read(t).Messages["q"]); len(got) != 1 || got[0] != evil {
			t.Fatalf("content through quote-json: got %q, want %q", got, evil)
		}
		// Errors and other replies are quoted too.
		check(t, api.Get(t, s.URL, "/channels/missing.json"))
		check(t, api.Get(t, s.URL, "/nope/a/b"))
		check(t, api.Post(t, s.URL, "/channels.json", url.Values{"channel_id": {"*/x/"}}))
		check(t, api.Post(t, s.URL, "/channels/q.json", url.Values{"content": {"*/"}}))
		// JSON-P is never quoted.
		r = api.Get(t, s.URL, "/channels/q.jsonp")
		m := jsonp(t, r, "_JSONP_comet_cb")
		if api.Num(t, m["return_code"]) != 1 || strings.HasPrefix(string(r.Body), "/*-secure-") {
			t.Fatalf("JSON-P with --quote-json: got %q, want an unquoted JSON-P body", r.Body)
		}
	})
}

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
func TestQuoteJSONEveryBody(t *testing.T) {
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
