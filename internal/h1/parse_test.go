package h1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"testing"
)

var nativeSeeds = []string{
	"GET /channels/a.json?since=3&last_id=4 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n",
	"GET /channels/a|b.js?cb=f HTTP/1.1\r\nhost: x\r\nconnection: keep-alive, Close\r\n\r\n",
	"POST /channels/a.json HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nmessage=1",
	"POST /channels/a.json HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	"GET /x? HTTP/1.1\r\nHost: x\r\nX-Odd_Name: v  \r\nX-Two: 1\r\nx-two: 2\r\n\r\n",
	"GET /channels/%61.json HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a HTTP/1.0\r\nHost: x\r\n\r\n",
	"GET /a HTTP/1.1\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
	"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab",
	"GET /a HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
}

// TestParseNativeAgreesWithNetHTTP: every request the fast parser takes,
// net/http reads the same way.
func TestParseNativeAgreesWithNetHTTP(t *testing.T) {
	accepted := 0
	for _, s := range nativeSeeds {
		if checkNative(t, []byte(s)) {
			accepted++
		}
	}
	if accepted != 6 {
		t.Fatalf("the fast parser took %d of the seeds, want 6", accepted)
	}
}

func FuzzParseNative(f *testing.F) {
	for _, s := range nativeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkNative(t, data) })
}

func checkNative(t *testing.T, data []byte) bool {
	t.Helper()
	// Parsed into storage that held another request before, as the
	// pooled storage of Native.Serve does: nothing of it may show.
	nr := &Request{}
	if _, ok := nr.Parse([]byte(usedRequest), 0); !ok {
		t.Fatal("the request used to dirty the storage was refused")
	}
	nr.Reset()
	got, ok := nr.Parse(data, 0)
	if !ok {
		return false
	}
	want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatalf("%q: taken here, refused by net/http: %v", data, err)
	}
	if got.Method != want.Method || got.URL.Path != want.URL.Path || got.URL.RawPath != want.URL.RawPath ||
		got.URL.RawQuery != want.URL.RawQuery || got.RequestURI != want.RequestURI || got.Host != want.Host ||
		got.Close != want.Close || got.ContentLength != want.ContentLength || got.ProtoMinor != want.ProtoMinor {
		t.Fatalf("%q:\n got %s %+v host=%q close=%v len=%d\nwant %s %+v host=%q close=%v len=%d", data,
			got.Method, got.URL, got.Host, got.Close, got.ContentLength, want.Method, want.URL, want.Host, want.Close, want.ContentLength)
	}
	if !reflect.DeepEqual(got.Header, want.Header) {
		t.Fatalf("%q: headers\n got %v\nwant %v", data, got.Header, want.Header)
	}
	gb, _ := io.ReadAll(got.Body)
	wb, _ := io.ReadAll(want.Body)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("%q: body %q, net/http %q", data, gb, wb)
	}
	if !validHost(want.Host) {
		t.Fatalf("%q: taken with a Host net/http's server refuses", data)
	}
	return true
}

// usedRequest fills a Request before each check: headers, a body, a
// query, Connection: close.
const usedRequest = "POST /channels/old.json?x=1&since=5 HTTP/1.1\r\nHost: old.example\r\nX-A: 1\r\nX-B: 2\r\nX-A: 3\r\n" +
	"Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: 9\r\n\r\ncontent=x"

// validHost is a stricter copy of the check net/http's server makes.
func validHost(h string) bool {
	for i := range len(h) {
		if !hostByte(h[i]) {
			return false
		}
	}
	return true
}
