package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestReadResponse: the tool's own reader gets the status, the body, the
// two headers it reads and whether the connection ends the way net/http
// does, and leaves the reader at the next response.
func TestReadResponse(t *testing.T) {
	for _, raw := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nlast-modified: Mon, 30 Nov 2026 10:00:00 GMT\r\nETag:  7 \r\nContent-Length: 2\r\n\r\nhi",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nTrailer: 1\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nEtag: 3\r\n\r\n",
		"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end",
	} {
		const next = "HTTP/1.1 204 No Content\r\n\r\n"
		in := raw
		want, err := http.ReadResponse(bufio.NewReader(strings.NewReader(in)), nil)
		if err != nil {
			t.Fatal(err)
		}
		wantBody, _ := io.ReadAll(want.Body)
		if !want.Close {
			in += next
		}
		r := bufio.NewReader(strings.NewReader(in))
		got, closing, err := readResponse(r)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if got.Status != want.StatusCode || !bytes.Equal(got.Body, wantBody) || closing != want.Close ||
			got.LastModified != want.Header.Get("Last-Modified") || got.Etag != want.Header.Get("Etag") {
			t.Fatalf("%q: got %d %q %q %q close %v, want %d %q %q %q close %v", raw,
				got.Status, got.Body, got.LastModified, got.Etag, closing,
				want.StatusCode, wantBody, want.Header.Get("Last-Modified"), want.Header.Get("Etag"), want.Close)
		}
		if !closing {
			if n, _, err := readResponse(r); err != nil || n.Status != 204 {
				t.Fatalf("%q: the next response: %v %v", raw, n.Status, err)
			}
		}
	}
	for _, bad := range []string{"", "HTTP/1.1 2x0 OK\r\n\r\n", "SIP/2.0 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"} {
		if _, closing, err := readResponse(bufio.NewReader(strings.NewReader(bad))); err == nil || !closing {
			t.Fatalf("%q: no error", bad)
		}
	}
}
