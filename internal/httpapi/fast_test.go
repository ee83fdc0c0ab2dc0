package httpapi

import (
	"bytes"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/simple-comet/simple-comet/internal/h1"
)

// rawPublish is a whole HTTP/1.1 request as a publisher sends it.
func rawPublish(path, query, ct, auth string, body []byte) []byte {
	target := path
	if query != "" {
		target += "?" + query
	}
	var b bytes.Buffer
	b.WriteString("POST " + target + " HTTP/1.1\r\nHost: h\r\n")
	if ct != "" {
		b.WriteString("Content-Type: " + ct + "\r\n")
	}
	if auth != "" {
		b.WriteString("Authorization: " + auth + "\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}

var (
	dateLine   = regexp.MustCompile(`\r\nDate: [^\r]*\r\n`)
	clockField = regexp.MustCompile(`"(ts|id|message_id|last_id)":[0-9]+`)
)

// normalized drops what differs between two servers in the same state:
// the date, and the message ids and timestamps (both taken from the
// clock).
func normalized(b []byte) string {
	b = dateLine.ReplaceAll(b, []byte("\r\nDate: D\r\n"))
	return string(clockField.ReplaceAll(b, []byte(`"$1":N`)))
}

// parse parses a whole request as Native does: the request and its body.
func parse(req []byte) (*http.Request, []byte, bool) {
	nr := &h1.Request{}
	r, ok := nr.Parse(req, 0)
	return r, nr.Body(), ok
}

// native is the Native that cmd/simple_comet wires for h: with h's fast
// paths when it has them.
func native(h http.Handler) *h1.Native {
	n := &h1.Native{Handler: h}
	if f, ok := h.(h1.FastServer); ok {
		n.Fast = f
	}
	return n
}

// generalOnly hides the fast path: Native serves h the general way.
func generalOnly(h *Handler) http.Handler { return http.HandlerFunc(h.ServeHTTP) }

// The fast path answers with the very bytes of the general path, and
// leaves the engine in the same state: a publish run both ways on two
// servers in the same state, then a read of the channel both ways.
func FuzzFastPublish(f *testing.F) {
	for _, s := range []struct{ path, query, ct, auth, body string }{
		{"/channels/a.json", "", "application/x-www-form-urlencoded", "", "content=hello"},
		{"/channels/a.json", "", "application/x-www-form-urlencoded", "", "content=hi%E2%80%A8there+you&x=1"},
		{"/channels/a.json", "", "APPLICATION/X-WWW-FORM-URLENCODED", "", "content=%3C%2Fscript%3E*/"},
		{"/channels/a.json", "content=q", "application/x-www-form-urlencoded", "", "other=1"},
		{"/channels/a.json", "secret=" + fuzzSecret, "application/x-www-form-urlencoded", "", "content=s"},
		{"/channels/a.json", "", "application/x-www-form-urlencoded", "Bearer " + fuzzSecret, "content=s"},
		{"/channels/a.json", "", "application/x-www-form-urlencoded", "Bearer wrong", "content=s&secret=" + fuzzSecret},
		{"/channels/a.json", "", "application/x-www-form-urlencoded", "", "content=%ff"},
		{"/channels/a.json", "", "application/x-www-form-urlencoded", "", "content=%zz&content=ok"},
		{"/channels/a.json", "", "application/x-www-form-urlencoded", "", "nothing=here"},
		{"/channels/missing.json", "", "application/x-www-form-urlencoded", "", "content=x"},
		{"/channels/$status.json", "", "application/x-www-form-urlencoded", "", "content=x"},
		{"/channels/a.jsonp", "cb=f", "application/x-www-form-urlencoded", "", "content=x"},
		{"/channels/a%7Cs.json", "", "application/x-www-form-urlencoded", "", "content=x"},
		{"/channels/a.json", "", "text/plain", "", "content=x"},
		{"/channels.json", "", "application/x-www-form-urlencoded", "", "channel_id=z"},
	} {
		for _, flags := range []uint8{0, 1, 2} {
			f.Add(s.path, s.query, s.ct, s.auth, []byte(s.body), flags)
		}
	}
	f.Fuzz(func(t *testing.T, path, query, ct, auth string, body []byte, flags uint8) {
		flags &= 3 // quote-json, secret
		req := rawPublish(path, query, ct, auth, body)
		if _, _, ok := parse(req); !ok {
			return // net/http's, not Native's
		}
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		fast, general := fuzzHandler(t, flags), fuzzHandler(t, flags)
		got := native(fast).Serve(a, req)
		want := native(generalOnly(general)).Serve(a, req)
		if got.Close != want.Close || got.Parked != want.Parked || got.HandOff != want.HandOff ||
			normalized(got.Resp) != normalized(want.Resp) {
			t.Fatalf("request %q\nfast path: close %v %q\ngeneral:   close %v %q", req, got.Close, got.Resp, want.Close, want.Resp)
		}
		read := []byte("GET /channels/a.json?since=0 HTTP/1.1\r\nHost: h\r\n\r\n")
		gotRead := native(generalOnly(fast)).Serve(a, read)
		wantRead := native(generalOnly(general)).Serve(a, read)
		if normalized(gotRead.Resp) != normalized(wantRead.Resp) {
			t.Fatalf("after %q the channels differ\nfast path: %q\ngeneral:   %q", req, gotRead.Resp, wantRead.Resp)
		}
	})
}

// The fast path is taken for a plain publish (else FuzzFastPublish would
// compare the general path with itself), and not for what it leaves alone.
func TestFastPublishTaken(t *testing.T) {
	for _, tc := range []struct {
		req   []byte
		flags uint8
		taken bool
	}{
		{rawPublish("/channels/a.json", "", "application/x-www-form-urlencoded", "", []byte("content=hi")), 0, true},
		{rawPublish("/channels/a.json", "", "application/x-www-form-urlencoded", "", []byte("content=hi")), 1, true},
		{rawPublish("/channels/a.json", "", "application/x-www-form-urlencoded", "Bearer "+fuzzSecret, []byte("content=hi")), 2, true},
		{rawPublish("/channels/missing.json", "", "application/x-www-form-urlencoded", "", []byte("content=hi")), 0, true}, // the engine's error
		{rawPublish("/channels/a.json", "", "application/x-www-form-urlencoded", "", []byte("content=hi")), 2, false},      // no secret
		{rawPublish("/channels/a.json", "", "application/x-www-form-urlencoded", "", []byte("content=%ff")), 0, false},
		{rawPublish("/channels/a.jsonp", "", "application/x-www-form-urlencoded", "", []byte("content=hi")), 0, false},
		{rawPublish("/channels/a.json", "", "multipart/form-data; boundary=B", "", []byte("content=hi")), 0, false},
	} {
		h := fuzzHandler(t, tc.flags)
		r, body, ok := parse(tc.req)
		if !ok {
			t.Fatalf("%q: not parsed", tc.req)
		}
		if _, v := h.ServeFast(nil, r, body); (v != h1.General) != tc.taken {
			t.Errorf("%q (flags %d): fast path verdict %v, want taken %v", tc.req, tc.flags, v, tc.taken)
		}
	}
}

// BenchmarkNativePublish: one publish as Native serves it, from the bytes
// read to the response's (the content escaped as the load tool sends it),
// by the fast path and by the general handler.
func BenchmarkNativePublish(b *testing.B) {
	req := rawPublish("/channels/a.json", "", "application/x-www-form-urlencoded", "",
		[]byte("content=%7B%22n%22%3A1%2C%22t%22%3A1795972160123456789%2C%22pad%22%3A%22xxxxxxxxxxxxxxxx%22%7D"))
	a, c := net.Pipe()
	defer a.Close()
	defer c.Close()
	for _, tc := range []struct {
		name string
		wrap func(*Handler) http.Handler
	}{
		{"fast", func(h *Handler) http.Handler { return h }},
		{"general", generalOnly},
	} {
		b.Run(tc.name, func(b *testing.B) {
			n := native(tc.wrap(fuzzHandler(b, 0)))
			b.ReportAllocs()
			for b.Loop() {
				if out := n.Serve(a, req); len(out.Resp) == 0 {
					b.Fatal("no response")
				}
			}
		})
	}
}

// What may block (assets, /metrics, the status replies) is handed to
// net/http, off the event loop that Native may run on; the rest is not.
func TestServeFastHandsOffWhatMayBlock(t *testing.T) {
	h := fuzzHandler(t, 4) // with --enable-status
	for _, tc := range []struct {
		target string
		want   h1.Verdict
	}{
		{"/status.html", h1.HandOff},
		{"/metrics", h1.HandOff},
		{"/status.json", h1.HandOff},
		{"/stats.jsonp?cb=f", h1.HandOff},
		{"/health", h1.General},
		{"/nothing", h1.General},
		{"/channels.json", h1.General},
	} {
		r, _, ok := parse([]byte("GET " + tc.target + " HTTP/1.1\r\nHost: h\r\n\r\n"))
		if !ok {
			t.Fatalf("%s: not parsed", tc.target)
		}
		if _, v := h.ServeFast(nil, r, nil); v != tc.want {
			t.Errorf("%s: got verdict %d, want %d", tc.target, v, tc.want)
		}
	}
	// Without --enable-status the status replies are a cheap 404.
	r, _, _ := parse([]byte("GET /status.json HTTP/1.1\r\nHost: h\r\n\r\n"))
	if _, v := fuzzHandler(t, 0).ServeFast(nil, r, nil); v != h1.General {
		t.Errorf("/status.json without --enable-status: got verdict %d, want general", v)
	}
}
