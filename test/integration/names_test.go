package integration

import (
	"net/url"
	"strings"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

func TestNames(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--http-timeout=1")
		long := strings.Repeat("n", 255)
		long2 := strings.Repeat("é", 127) + "x" // 255 bytes, multi-byte
		cases := []struct {
			name    string
			encoded string // as sent in a path and a form
			ok      bool
		}{
			{"255 bytes", long, true},
			{"255 bytes multi-byte", url.PathEscape(long2), true},
			{"256 bytes", long + "n", false},
			{"one byte", "x", true},
			{"spaces and punctuation", "a%20b%3Ac%2C%21%40", true},
			{"slash encoded", "a%2Fb", true},
			{"unicode", "%E2%9C%93", true},
			{"pipe", "a%7Cb", false},
			{"NUL", "a%00b", false},
			{"tab", "a%09b", false},
			{"DEL", "a%7Fb", false},
			{"C1", "a%C2%80b", false},
			{"invalid UTF-8", "a%FFb", false},
			{"overlong UTF-8", "%C0%AF", false},
			{"reserved $", "%24mine", false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				want := 1
				if !c.ok {
					want = -1
				}
				api.Do(t, s.URL, "POST", "/channels.json", api.FormType, []byte("channel_id="+c.encoded)).WantCode(t, want)
				if !c.ok {
					api.Do(t, s.URL, "POST", "/channels/"+c.encoded+".json?content=x", "", nil).WantCode(t, -1)
					api.Do(t, s.URL, "DELETE", "/channels/"+c.encoded+".json", "", nil).WantCode(t, -1)
					api.Do(t, s.URL, "POST", "/clients.json", api.FormType, []byte("client_id="+c.encoded)).WantCode(t, map[bool]int{true: 1, false: -1}[c.name == "reserved $"])
					return
				}
				api.Do(t, s.URL, "POST", "/channels/"+c.encoded+".json?content=hi", "", nil).WantCode(t, 1)
				r := api.Do(t, s.URL, "GET", "/channels/"+c.encoded+".json", "", nil)
				rr := r.Read(t)
				if len(rr.Messages) != 1 {
					t.Fatalf("read: got %v, want one channel", rr.Messages)
				}
				for name, ms := range rr.Messages {
					dec, _ := url.PathUnescape(c.encoded)
					if name != dec || len(ms) != 1 || ms[0].Content != "hi" {
						t.Fatalf("read: got %q: %v, want %q: [hi]", name, ms, dec)
					}
				}
				api.Do(t, s.URL, "POST", "/clients.json", api.FormType, []byte("client_id="+c.encoded)).WantCode(t, 1)
				api.Do(t, s.URL, "DELETE", "/clients/"+c.encoded+".json", "", nil).WantCode(t, 2)
				api.Do(t, s.URL, "DELETE", "/channels/"+c.encoded+".json", "", nil).WantCode(t, 2)
			})
		}
		t.Run("reserved channel is not readable by users without it existing", func(t *testing.T) {
			api.Get(t, s.URL, "/channels/%24status.json").WantCode(t, -2)
		})
	})
}

// Paths are routed as sent: no cleaning, no redirects.
func TestPathsAsSent(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--http-timeout=1")
		for _, name := range []string{"a//b", "a/./b", "a/../b", "/lead", "trail/", "a.json"} {
			api.Register(t, s.URL, name)
			raw := "/channels/" + name + ".json"
			r := api.Do(t, s.URL, "POST", raw+"?content=x", "", nil).WantStatus(t, 200)
			r.WantCode(t, 1)
			rr := api.Get(t, s.URL, raw).WantStatus(t, 200).Read(t)
			if ms := rr.Messages[name]; len(ms) != 1 {
				t.Fatalf("GET %s: got %v, want channel %q with one message", raw, rr.Messages, name)
			}
			api.Do(t, s.URL, "DELETE", raw, "", nil).WantCode(t, 2)
		}
		// Percent-decoded before split: %7C separates, an encoded slash is a
		// slash in the name.
		api.Register(t, s.URL, "x/y")
		api.Register(t, s.URL, "z")
		api.Publish(t, s.URL, "x/y", "1")
		api.Publish(t, s.URL, "z", "2")
		rr := api.Get(t, s.URL, "/channels/x%2Fy%7Cz.json").Read(t)
		if len(rr.Messages["x/y"]) != 1 || len(rr.Messages["z"]) != 1 {
			t.Fatalf("got %v, want x/y and z", rr.Messages)
		}
	})
}

func TestStatus(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		off := e.start(t)
		for _, p := range []string{"/status.json", "/stats.json", "/status.jsonp", "/stats.jsonp"} {
			api.Get(t, off.URL, p).WantStatus(t, 404).WantCode(t, -1)
		}
		s := e.start(t, "--enable-status", "--http-timeout=2")
		st := api.Status(t, s.URL)
		for _, k := range []string{"channels", "clients", "held_connections_count", "channels_count", "clients_count", "node", "uptime_seconds", "messages_published", "engine", "version"} {
			if _, ok := st[k]; !ok {
				t.Fatalf("status: got %v, want key %q", st, k)
			}
		}
		if api.Num(t, st["channels_count"]) != 0 || len(st["channels"].([]any)) != 0 {
			t.Fatalf("empty server status: got %v, want no channels", st)
		}
		api.Register(t, s.URL, "s1")
		api.Register(t, s.URL, "s2")
		api.RegisterClient(t, s.URL, "c1")
		api.Publish(t, s.URL, "s1", "x")
		held := api.Async(t.Context(), s.URL, "GET", "/channels/s2.json")
		api.Eventually(t, "held count 1", 10e9, func() bool { return api.Held(t, s.URL) == 1 })
		st = api.Status(t, s.URL)
		if api.Num(t, st["channels_count"]) != 2 || api.Num(t, st["clients_count"]) != 1 || api.Num(t, st["messages_published"]) < 1 {
			t.Fatalf("status: got %v, want 2 channels, 1 client, 1+ messages", st)
		}
		if chs := st["channels"].([]any); len(chs) != 2 {
			t.Fatalf("status channels: got %v, want s1 and s2", chs)
		}
		if cls := st["clients"].([]any); len(cls) != 1 || cls[0] != "c1" {
			t.Fatalf("status clients: got %v, want [c1]", cls)
		}
		if st["engine"] != e.engineName() {
			t.Fatalf("status engine: got %v, want %q", st["engine"], e.engineName())
		}
		// The top level carries the counts too, and /stats.json is the same.
		top := api.Get(t, s.URL, "/stats.json").WantStatus(t, 200).WantCode(t, 1)
		if api.Num(t, top["channels_count"]) != 2 || api.Num(t, top["held_connections_count"]) != 1 {
			t.Fatalf("/stats.json: got %v, want channels_count 2, held 1", top)
		}
		m := jsonp(t, api.Get(t, s.URL, "/status.jsonp"), "_JSONP_comet_cb")
		if api.Num(t, m["return_code"]) != 1 {
			t.Fatalf("/status.jsonp: got %v, want return_code 1", m)
		}
		api.Wait(t, held, 30e9)
		api.Eventually(t, "held count back to 0", 10e9, func() bool { return api.Held(t, s.URL) == 0 })
		// Lists are capped at 1,000; counts are exact.
		for i := range 1005 {
			api.Post(t, s.URL, "/channels.json", url.Values{"channel_id": {"many" + itoa(int64(i))}}).WantCode(t, 1)
		}
		st = api.Status(t, s.URL)
		if n := len(st["channels"].([]any)); n != 1000 || api.Num(t, st["channels_count"]) != 1007 {
			t.Fatalf("status with 1007 channels: got %d listed, count %v; want 1000 and 1007", n, st["channels_count"])
		}
	})
}
