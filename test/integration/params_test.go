package integration

import (
	"net/url"
	"strings"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

func TestParameters(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--http-timeout=1")
		api.Register(t, s.URL, "p", "max_messages", "1000")
		last := func(t *testing.T) string {
			t.Helper()
			ms := api.ReadNow(t, s.URL, []string{"p"}, "").Messages["p"]
			return ms[len(ms)-1].Content
		}
		cases := []struct {
			name, path, ct, body, want string
		}{
			{"query only", "/channels/p.json?content=fromquery", "", "", "fromquery"},
			{"body only", "/channels/p.json", api.FormType, "content=frombody", "frombody"},
			{"body wins over query", "/channels/p.json?content=q", api.FormType, "content=b", "b"},
			{"query used when the body lacks it", "/channels/p.json?content=q", api.FormType, "other=1", "q"},
			{"first of repeated in query", "/channels/p.json?content=1&content=2", "", "", "1"},
			{"first of repeated in body", "/channels/p.json", api.FormType, "content=1&content=2", "1"},
			{"charset suffix", "/channels/p.json", api.FormType + "; charset=UTF-8", "content=cs", "cs"},
			{"upper-case type", "/channels/p.json", "Application/X-WWW-Form-Urlencoded", "content=upper", "upper"},
			{"plus is a space", "/channels/p.json", api.FormType, "content=a+b%2Bc", "a b+c"},
			{"non-form body ignored", "/channels/p.json?content=q2", "text/plain", "content=ignored", "q2"},
			{"empty content", "/channels/p.json", api.FormType, "content=", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var body []byte
				if c.body != "" {
					body = []byte(c.body)
				}
				api.Do(t, s.URL, "POST", c.path, c.ct, body).WantCode(t, 1)
				if got := last(t); got != c.want {
					t.Fatalf("stored: got %q, want %q", got, c.want)
				}
			})
		}
		t.Run("multipart", func(t *testing.T) {
			ct, body := multipartBody(t, [][2]string{{"content", "multi\npart"}, {"content", "second"}})
			api.Do(t, s.URL, "POST", "/channels/p.json?content=q", ct, body).WantCode(t, 1)
			if got := last(t); got != "multi\npart" {
				t.Fatalf("stored: got %q, want the first multipart value", got)
			}
			ct, body = multipartBody(t, [][2]string{{"channel_id", "mp"}, {"use_sessions", "yes"}})
			api.Do(t, s.URL, "POST", "/channels.json", ct, body).WantCode(t, 1)
			api.Get(t, s.URL, "/channels/mp.json").WantCode(t, -2) // a session channel
		})
		t.Run("use_sessions words", func(t *testing.T) {
			for i, c := range []struct {
				v       string
				session bool
			}{{"1", true}, {"true", true}, {"yes", true}, {"on", true}, {"0", false}, {"false", false}, {"no", false}, {"off", false}, {"", false}} {
				name := "us" + itoa(int64(i))
				api.Register(t, s.URL, name, "use_sessions", c.v)
				api.Publish(t, s.URL, name, "x")
				code := api.Get(t, s.URL, "/channels/"+name+".json").Code(t)
				if (code == -2) != c.session {
					t.Fatalf("use_sessions=%q: got read code %d, want session %v", c.v, code, c.session)
				}
			}
			for _, v := range []string{"2", "y", "maybe", " 1"} {
				api.Post(t, s.URL, "/channels.json", url.Values{"channel_id": {"bad" + v}, "use_sessions": {v}}).WantCode(t, -1)
			}
			// Absent is false.
			api.Register(t, s.URL, "absent")
			api.Publish(t, s.URL, "absent", "x")
			api.Get(t, s.URL, "/channels/absent.json").WantCode(t, 1)
		})
		t.Run("since", func(t *testing.T) {
			api.Register(t, s.URL, "sn")
			id1 := api.Publish(t, s.URL, "sn", "one")
			id2 := api.Publish(t, s.URL, "sn", "two")
			for _, c := range []struct {
				since     string
				wantSince int64
				want      string
			}{
				{"", 0, "one,two"},
				{"0", 0, "one,two"},
				{itoa(id1), id1, "two"},
				{"000" + itoa(id1), id1, "two"},
				{"+" + itoa(id1), 0, "one,two"},
				{"-1", 0, "one,two"},
				{"%20" + itoa(id1), 0, "one,two"},
				{itoa(id1) + "x", 0, "one,two"},
				{"abc", 0, "one,two"},
				{"99999999999999999999", 0, "one,two"}, // overflow
				{"1e5", 0, "one,two"},
			} {
				rr := api.ReadNow(t, s.URL, []string{"sn"}, "since="+c.since)
				if rr.Since != c.wantSince || strings.Join(api.Contents(rr.Messages["sn"]), ",") != c.want {
					t.Fatalf("since=%q: got since %d %q, want %d %q", c.since, rr.Since, api.Contents(rr.Messages["sn"]), c.wantSince, c.want)
				}
			}
			// Above the newest id: taken as the newest id (a held poll,
			// answered empty at the timeout).
			rr := api.ReadNow(t, s.URL, []string{"sn"}, "since=9000000000000000000")
			if rr.Since != rr.LastID || rr.LastID < id2 || len(rr.Messages["sn"]) != 0 {
				t.Fatalf("since above newest: got since %d last_id %d, want both the newest id (>= %d)", rr.Since, rr.LastID, id2)
			}
			// The first since counts; a POSTed body does not apply to a GET.
			rr = api.ReadNow(t, s.URL, []string{"sn"}, "since="+itoa(id1)+"&since=0")
			if rr.Since != id1 {
				t.Fatalf("repeated since: got %d, want the first, %d", rr.Since, id1)
			}
		})
		t.Run("client_id", func(t *testing.T) {
			api.Get(t, s.URL, "/channels/p.json?client_id=").WantCode(t, -1)
			api.Get(t, s.URL, "/channels/p.json?client_id=a%7Cb").WantCode(t, -1)
			api.Post(t, s.URL, "/clients.json", url.Values{"client_id": {"a|b"}}).WantCode(t, -1)
			api.Do(t, s.URL, "POST", "/clients.json", api.FormType, []byte("client_id=%01")).WantCode(t, -1)
		})
	})
}

// The return-code precedence: callback/format, -4, -1, -3, -2, -5.
func TestPrecedence(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--max-channels=1", "--http-timeout=1")
		api.Register(t, s.URL, "full")
		cases := []struct {
			name, method, path string
			want               int
			msg                string
		}{
			{"format before -1", "GET", "/channels/bad%01.xml?client_id=", -1, "Unknown output format"},
			{"format before 405", "PUT", "/channels/a.xml", -1, "Unknown output format"},
			{"-1 before -3", "GET", "/channels/bad%01.json?client_id=nobody", -1, ""},
			{"-1 empty name in a list before -3", "GET", "/channels/a%7Cb%7C%7C.json?client_id=nobody", -1, ""},
			{"-3 before -2", "GET", "/channels/missing.json?client_id=nobody", -3, ""},
			{"-2 before -5", "POST", "/channels.json?channel_id=full", -2, ""},
			{"-1 before -5", "POST", "/channels.json?channel_id=%24reserved", -1, ""},
			{"-1 missing before -5", "POST", "/channels.json", -1, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := api.Do(t, s.URL, c.method, c.path, "", nil)
				m := r.WantCode(t, c.want)
				if c.msg != "" && m["error_message"] != c.msg {
					t.Fatalf("got error_message %v, want %q", m["error_message"], c.msg)
				}
			})
		}
		t.Run("-4 before -1", func(t *testing.T) {
			ss := e.start(t, "--secret=s3cret", "--http-timeout=1")
			api.Post(t, ss.URL, "/channels.json", url.Values{"channel_id": {"bad|name"}}).WantCode(t, -4)
			api.Post(t, ss.URL, "/channels.json", url.Values{"channel_id": {"ok"}}).WantCode(t, -4)
			api.Post(t, ss.URL, "/channels.json", url.Values{"channel_id": {"bad|name"}, "secret": {"s3cret"}}).WantCode(t, -1)
			api.Post(t, ss.URL, "/channels.json", url.Values{"channel_id": {"ok"}, "secret": {"s3cret"}}).WantCode(t, 1)
		})
	})
}

// The order is "callback/format, -4, -1, ...", and a wrong method is -1: a
// resource that needs the secret for every method answers -4 first. A
// channel's reads are open, so there the method is checked first.
func TestSecretBeforeWrongMethod(t *testing.T) {
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
