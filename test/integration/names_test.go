package integration

import (
	"net/url"
	"strings"
	"testing"
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
				do(t, s, "POST", "/channels.json", formType, []byte("channel_id="+c.encoded)).wantCode(t, want)
				if !c.ok {
					do(t, s, "POST", "/channels/"+c.encoded+".json?content=x", "", nil).wantCode(t, -1)
					do(t, s, "DELETE", "/channels/"+c.encoded+".json", "", nil).wantCode(t, -1)
					do(t, s, "POST", "/clients.json", formType, []byte("client_id="+c.encoded)).wantCode(t, map[bool]int{true: 1, false: -1}[c.name == "reserved $"])
					return
				}
				do(t, s, "POST", "/channels/"+c.encoded+".json?content=hi", "", nil).wantCode(t, 1)
				r := do(t, s, "GET", "/channels/"+c.encoded+".json", "", nil)
				rr := r.read(t)
				if len(rr.Messages) != 1 {
					t.Fatalf("read: got %v, want one channel", rr.Messages)
				}
				for name, ms := range rr.Messages {
					dec, _ := url.PathUnescape(c.encoded)
					if name != dec || len(ms) != 1 || ms[0].Content != "hi" {
						t.Fatalf("read: got %q: %v, want %q: [hi]", name, ms, dec)
					}
				}
				do(t, s, "POST", "/clients.json", formType, []byte("client_id="+c.encoded)).wantCode(t, 1)
				do(t, s, "DELETE", "/clients/"+c.encoded+".json", "", nil).wantCode(t, 2)
				do(t, s, "DELETE", "/channels/"+c.encoded+".json", "", nil).wantCode(t, 2)
			})
		}
		t.Run("reserved channel is not readable by users without it existing", func(t *testing.T) {
			get(t, s, "/channels/%24status.json").wantCode(t, -2)
		})
	})
}

// Paths are routed as sent: no cleaning, no redirects.
func TestPathsAsSent(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		s := e.start(t, "--http-timeout=1")
		for _, name := range []string{"a//b", "a/./b", "a/../b", "/lead", "trail/", "a.json"} {
			registerChannel(t, s, name)
			raw := "/channels/" + name + ".json"
			r := do(t, s, "POST", raw+"?content=x", "", nil).wantStatus(t, 200)
			r.wantCode(t, 1)
			rr := get(t, s, raw).wantStatus(t, 200).read(t)
			if ms := rr.Messages[name]; len(ms) != 1 {
				t.Fatalf("GET %s: got %v, want channel %q with one message", raw, rr.Messages, name)
			}
			do(t, s, "DELETE", raw, "", nil).wantCode(t, 2)
		}
		// Percent-decoded before split: %7C separates, an encoded slash is a
		// slash in the name.
		registerChannel(t, s, "x/y")
		registerChannel(t, s, "z")
		publish(t, s, "x/y", "1")
		publish(t, s, "z", "2")
		rr := get(t, s, "/channels/x%2Fy%7Cz.json").read(t)
		if len(rr.Messages["x/y"]) != 1 || len(rr.Messages["z"]) != 1 {
			t.Fatalf("got %v, want x/y and z", rr.Messages)
		}
	})
}

func TestStatus(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		off := e.start(t)
		for _, p := range []string{"/status.json", "/stats.json", "/status.jsonp", "/stats.jsonp"} {
			get(t, off, p).wantStatus(t, 404).wantCode(t, -1)
		}
		s := e.start(t, "--enable-status", "--http-timeout=2")
		st := status(t, s)
		for _, k := range []string{"channels", "clients", "held_connections_count", "channels_count", "clients_count", "node", "uptime_seconds", "messages_published", "engine", "version"} {
			if _, ok := st[k]; !ok {
				t.Fatalf("status: got %v, want key %q", st, k)
			}
		}
		if num(t, st["channels_count"]) != 0 || len(st["channels"].([]any)) != 0 {
			t.Fatalf("empty server status: got %v, want no channels", st)
		}
		registerChannel(t, s, "s1")
		registerChannel(t, s, "s2")
		registerClient(t, s, "c1")
		publish(t, s, "s1", "x")
		held := async(t.Context(), s.URL, "GET", "/channels/s2.json")
		eventually(t, "held count 1", 10e9, func() bool { return heldCount(t, s) == 1 })
		st = status(t, s)
		if num(t, st["channels_count"]) != 2 || num(t, st["clients_count"]) != 1 || num(t, st["messages_published"]) < 1 {
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
		top := get(t, s, "/stats.json").wantStatus(t, 200).wantCode(t, 1)
		if num(t, top["channels_count"]) != 2 || num(t, top["held_connections_count"]) != 1 {
			t.Fatalf("/stats.json: got %v, want channels_count 2, held 1", top)
		}
		m := jsonp(t, get(t, s, "/status.jsonp"), "_JSONP_comet_cb")
		if num(t, m["return_code"]) != 1 {
			t.Fatalf("/status.jsonp: got %v, want return_code 1", m)
		}
		wait(t, held, 30e9)
		eventually(t, "held count back to 0", 10e9, func() bool { return heldCount(t, s) == 0 })
		// Lists are capped at 1,000; counts are exact.
		for i := range 1005 {
			post(t, s, "/channels.json", url.Values{"channel_id": {"many" + itoa(int64(i))}}).wantCode(t, 1)
		}
		st = status(t, s)
		if n := len(st["channels"].([]any)); n != 1000 || num(t, st["channels_count"]) != 1007 {
			t.Fatalf("status with 1007 channels: got %d listed, count %v; want 1000 and 1007", n, st["channels_count"])
		}
	})
}
