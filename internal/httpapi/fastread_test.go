package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/h1"
	"github.com/simple-comet/simple-comet/internal/parking"
)

// lotServer serves h (fast: as it is; else only the general way) on a
// loopback port through a parking Lot, as cmd/simple_comet wires it: the
// Lot takes every connection and Native serves its requests.
func lotServer(t testing.TB, flags uint8, hold time.Duration, fast bool, maxHeld int) (*Handler, string) {
	t.Helper()
	lot, err := parking.New(parking.Options{Workers: 2, Inline: true, Loops: 2, IOUring: true, IdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := fuzzHandlerWith(t, flags, hold, lot, maxHeld)
	var served http.Handler = h
	if !fast {
		served = generalOnly(h)
	}
	lot.SetServer(native(served))
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := lot.ListenNative(inner)
	srv := NewServer(served, ServerOptions{HTTPTimeout: 5 * time.Second})
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
		lot.Close()
	})
	return h, inner.Addr().String()
}

// exchange sends each request on one connection and returns the raw
// responses, read whole (by their Content-Length).
func exchange(t testing.TB, addr string, reqs ...[]byte) [][]byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	var raw bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &raw))
	var out [][]byte
	for _, req := range reqs {
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %q: %v", req, err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// What the response took of the stream, less what the reader
		// holds of the next one.
		n := raw.Len() - br.Buffered()
		out = append(out, append([]byte(nil), raw.Bytes()[:n]...))
		raw.Next(n)
		if resp.Close {
			break
		}
	}
	return out
}

// fastReadPair is a fast and a general server in the same state.
type fastReadPair struct{ fast, general string }

var (
	fastReadPairsMu sync.Mutex
	fastReadPairs   = map[uint8]fastReadPair{}
)

// The read fast path answers with the very bytes of the general path, and
// leaves the connection in the same state: a read sent to two servers in
// the same state, one serving it the fast way, the other the general way,
// then a second read on the same connection. Reads that wait are parked
// and time out (the hold is 1 ms).
func FuzzFastRead(f *testing.F) {
	for _, s := range []struct{ path, query, header string }{
		{"/channels/a.json", "since=0", ""},
		{"/channels/a.json", "", ""},
		{"/channels/a.json", "since=9000000000000000000", ""},
		{"/channels/a.json", "since=0", "Connection: close\r\n"},
		{"/channels/a.json", "since=9000000000000000000", "Connection: close\r\n"},
		{"/channels/a|s.json", "client_id=c1&since=0", ""},
		{"/channels/a|a.json", "since=9000000000000000000", ""},
		{"/channels/s.json", "client_id=nobody", ""},
		{"/channels/s.json", "client_id=", ""},
		{"/channels/nothing.json", "", ""},
		{"/channels/a|nothing.json", "since=9000000000000000000", ""},
		{"/channels/a|b|c|d|e|f.json", "", ""},
		{"/channels/$status.json", "", ""},
		{"/channels/$status.json", "secret=" + fuzzSecret, ""},
		{"/channels/a.jsonp", "cb=_JSONP_x", ""},
		{"/channels/a%7Cs.json", "client_id=c1", ""},
		{"/channels/a.json", "since=0", "Authorization: Bearer " + fuzzSecret + "\r\n"},
		{"/channels/a.json", "since=1&since=0", "Origin: http://x\r\n"},
		{"/channels/" + strings.Repeat("x", 40) + ".json", "", ""},
	} {
		for _, flags := range []uint8{0, 1, 2} {
			f.Add(s.path, s.query, s.header, flags)
		}
	}
	f.Fuzz(func(t *testing.T, path, query, header string, flags uint8) {
		flags &= 3 // quote-json, secret
		target := path
		if query != "" {
			target += "?" + query
		}
		req := []byte("GET " + target + " HTTP/1.1\r\nHost: h\r\n" + header + "\r\n")
		if _, _, ok := parse(req); !ok {
			return // net/http's, not Native's
		}
		fastReadPairsMu.Lock()
		pair, ok := fastReadPairs[flags]
		if !ok {
			// Shared by every input (and left to the end of the process):
			// the servers see the same requests, so they stay alike.
			_, pair.fast = lotServer(nopTB{}, flags, time.Millisecond, true, 4)
			_, pair.general = lotServer(nopTB{}, flags, time.Millisecond, false, 4)
			fastReadPairs[flags] = pair
		}
		fastReadPairsMu.Unlock()
		next := []byte("GET /channels/a.json?since=9000000000000000000 HTTP/1.1\r\nHost: h\r\n\r\n")
		got := exchange(t, pair.fast, req, next)
		want := exchange(t, pair.general, req, next)
		if len(got) != len(want) {
			t.Fatalf("request %q: %d responses by the fast path, %d by the general", req, len(got), len(want))
		}
		for i := range got {
			if normalizedRead(got[i]) != normalizedRead(want[i]) {
				t.Fatalf("request %q, response %d\nfast path: %q\ngeneral:   %q", req, i+1, got[i], want[i])
			}
		}
	})
}

// sinceField: a read that waits and times out answers with since and
// last_id taken from the clock; Expires is a second after Date.
var (
	sinceField  = regexp.MustCompile(`"since":[0-9]+`)
	expiresLine = regexp.MustCompile(`\r\nExpires: [^\r]*\r\n`)
)

func normalizedRead(b []byte) string {
	s := expiresLine.ReplaceAllString(normalized(b), "\r\nExpires: E\r\n")
	return sinceField.ReplaceAllString(s, `"since":N`)
}

// nopTB is a testing.TB for servers that outlive one fuzz input: their
// clean-up never runs (the process ends first).
type nopTB struct{ testing.TB }

func (nopTB) Helper()                   {}
func (nopTB) Cleanup(func())            {}
func (nopTB) Fatal(args ...any)         { panic(args) }
func (nopTB) Fatalf(f string, a ...any) { panic(f) }

// A plain read is served by the fast path (else FuzzFastRead would compare
// the general path with itself): parked when it must wait, answered when
// it has messages; what needs more is left to the general path.
func TestFastReadTaken(t *testing.T) {
	lot, err := parking.New(parking.Options{Workers: 1, Inline: true, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lot.Close()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := lot.Listen(inner)
	defer ln.Close()
	for _, tc := range []struct {
		target        string
		flags         uint8
		parked, taken bool
	}{
		{"/channels/a.json?since=9000000000000000000", 0, true, true},
		{"/channels/a|a.json?since=9000000000000000000", 1, true, true},
		{"/channels/a.json?since=0", 0, false, true},
		{"/channels/a.json?since=0", 2, false, true}, // reads are open
		{"/channels/$status.json", 0, true, true},
		{"/channels/$status.json?secret=" + fuzzSecret, 2, false, false}, // reserved: the secret is checked there
		{"/channels/a.jsonp?cb=_JSONP_x", 0, false, false},
		{"/channels/nothing.json", 0, false, true}, // the engine's error
		{"/channels/a|b|c|d|e|f.json", 0, false, false},
		{"/channels/s.json?client_id=", 0, false, false},
	} {
		h := fuzzHandlerWith(t, tc.flags, time.Minute, lot, 4)
		client, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		r, _, ok := parse([]byte("GET " + tc.target + " HTTP/1.1\r\nHost: h\r\n\r\n"))
		if !ok {
			t.Fatalf("%s: not parsed", tc.target)
		}
		resp, v := h.ServeFast(c, r, nil)
		parked, taken := v == h1.Parked, v != h1.General
		if taken != tc.taken || parked != (tc.parked && tc.taken) || (taken && !parked && len(resp) == 0) {
			t.Errorf("%s (flags %d): taken %v parked %v (%d bytes), want taken %v parked %v", tc.target, tc.flags, taken, parked, len(resp), tc.taken, tc.parked)
		}
		client.Close()
		if !parked {
			c.Close()
		}
	}
}

// A read parked by the fast path is answered by a publish, with the bytes
// the general path answers it with, and its connection serves the next
// read.
func TestFastReadWoken(t *testing.T) {
	lastID := regexp.MustCompile(`"last_id":([0-9]+)`)
	var resps [2][][]byte
	for i, fast := range []bool{true, false} {
		_, addr := lotServer(t, 0, time.Minute, fast, 4)
		first := exchange(t, addr, []byte("GET /channels/a.json?since=0 HTTP/1.1\r\nHost: h\r\n\r\n"))
		m := lastID.FindSubmatch(first[0])
		if m == nil {
			t.Fatalf("no last_id in %q", first[0])
		}
		wait := []byte("GET /channels/a.json?since=" + string(m[1]) + " HTTP/1.1\r\nHost: h\r\n\r\n")
		done := make(chan [][]byte, 1)
		go func() { done <- exchange(t, addr, wait, wait) }()
		time.Sleep(50 * time.Millisecond) // parked by then (if not, the test still passes: answered at once)
		pub := exchange(t, addr, rawPublish("/channels/a.json", "", "application/x-www-form-urlencoded", "", []byte("content=woken")))
		if !bytes.Contains(pub[0], []byte(`"return_code":1`)) {
			t.Fatalf("publish: %q", pub[0])
		}
		select {
		case r := <-done:
			resps[i] = r
		case <-time.After(10 * time.Second):
			t.Fatal("the parked read was not answered")
		}
		// The second read has the message at once.
		if len(resps[i]) != 2 || !bytes.Contains(resps[i][0], []byte(`"content":"woken"`)) ||
			!bytes.Contains(resps[i][1], []byte(`"content":"woken"`)) {
			t.Fatalf("fast %v: got %q, want the message twice", fast, resps[i])
		}
	}
	for j := range 2 {
		if normalizedRead(resps[0][j]) != normalizedRead(resps[1][j]) {
			t.Fatalf("response %d\nfast path: %q\ngeneral:   %q", j+1, resps[0][j], resps[1][j])
		}
	}
}

// Parked reads are reused once answered: under publishes and timeouts that
// race with each other (a 2 ms hold, a publish every millisecond or so),
// every poll gets one whole answer, its messages newer than its since and
// in order, and the server is left holding nothing. Run with -race, a
// parked read reused while a timeout or the Hub still held it shows up.
func TestParkedReadsReused(t *testing.T) {
	h, addr := lotServer(t, 0, 2*time.Millisecond, true, 64)
	type reply struct {
		Since    int64 `json:"since"`
		LastID   int64 `json:"last_id"`
		Messages map[string][]struct {
			ID int64 `json:"id"`
		} `json:"messages"`
		ReturnCode int `json:"return_code"`
	}
	stop := make(chan struct{})
	var pubs sync.WaitGroup
	pubs.Add(1)
	go func() {
		defer pubs.Done()
		c, br, ok := dial(t, addr)
		if !ok {
			return
		}
		defer c.Close()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := roundTrip(c, br, rawPublish("/channels/a.json", "", "application/x-www-form-urlencoded", "", []byte("content=m")))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			time.Sleep(time.Duration(i%3) * 500 * time.Microsecond)
		}
	}()
	var clients sync.WaitGroup
	for range 20 {
		clients.Add(1)
		go func() {
			defer clients.Done()
			c, br, ok := dial(t, addr)
			if !ok {
				return
			}
			defer c.Close()
			since := int64(0)
			for range 60 {
				req := "GET /channels/a.json?since=" + strconv.FormatInt(since, 10) + " HTTP/1.1\r\nHost: h\r\n\r\n"
				resp, err := roundTrip(c, br, []byte(req))
				if err != nil {
					t.Error(err)
					return
				}
				var r reply
				err = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				if err != nil || r.ReturnCode != 1 {
					t.Errorf("since %d: reply %+v, %v", since, r, err)
					return
				}
				last := since
				for _, m := range r.Messages["a"] {
					if m.ID <= last || m.ID > r.LastID {
						t.Errorf("since %d: message %d out of order (last_id %d)", since, m.ID, r.LastID)
						return
					}
					last = m.ID
				}
				since = r.LastID
			}
		}()
	}
	clients.Wait()
	close(stop)
	pubs.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for h.svc.Hub.Held() != 0 || h.svc.Timing() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("left holding %d polls, %d in the expiry", h.svc.Hub.Held(), h.svc.Timing())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// roundTrip writes req on c and reads the head of its response.
func roundTrip(c net.Conn, br *bufio.Reader, req []byte) (*http.Response, error) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	return http.ReadResponse(br, nil)
}

// dial connects to addr, or reports why not (from any goroutine).
func dial(t testing.TB, addr string) (net.Conn, *bufio.Reader, bool) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return nil, nil, false
	}
	return c, bufio.NewReader(c), true
}
