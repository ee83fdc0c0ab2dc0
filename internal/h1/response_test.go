package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// The head is the status line, then every field in sorted order, the
// Content-Length and Date added in their places unless given.
func TestAppendHead(t *testing.T) {
	date := "Date: " + Now().Date + "\r\n"
	for _, tc := range []struct {
		name         string
		status       int
		fixed, extra []Field
		length       int64
		want         string
	}{
		{"added", 200, []Field{{"Cache-Control", "no-store"}, {"X-A", "1"}}, nil, 5,
			"HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 5\r\n" + date + "X-A: 1\r\n\r\n"},
		{"merged", 503, []Field{{"Cache-Control", "no-store"}, {"Content-Type", "application/json"}},
			[]Field{{"Connection", "close"}, {"Retry-After", "1"}}, 2,
			"HTTP/1.1 503 Service Unavailable\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: 2\r\n" +
				"Content-Type: application/json\r\n" + date + "Retry-After: 1\r\n\r\n"},
		{"given Content-Length and Date", 200, nil, []Field{{"Content-Length", "9"}, {"Date", "then"}}, 3,
			"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nDate: then\r\n\r\n"},
		{"no length", 304, nil, []Field{{"Etag", `"x"`}}, -1,
			"HTTP/1.1 304 Not Modified\r\n" + date + "Etag: \"x\"\r\n\r\n"},
		{"values as net/http writes them", 200, nil, []Field{{"X-B", " a\r\nb "}, {"X-B", "c"}}, 0,
			"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + date + "X-B: a  b\r\nX-B: c\r\n\r\n"},
	} {
		if got := string(AppendHead(nil, tc.status, tc.fixed, tc.extra, tc.length)); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// A whole response reads back as net/http reads it.
func TestAppendResponseReadsBack(t *testing.T) {
	b := AppendResponse([]byte("kept"), 408, TimeoutFields, nil, []byte(TimeoutBody))
	if !bytes.HasPrefix(b, []byte("keptHTTP/1.1 408 Request Timeout\r\n")) {
		t.Fatalf("got %q, want it appended", b)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b[4:])), nil)
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&body)
	if resp.StatusCode != 408 || !resp.Close || resp.ContentLength != int64(len(TimeoutBody)) || body.String() != TimeoutBody {
		t.Fatalf("got %d close=%v length %d %q", resp.StatusCode, resp.Close, resp.ContentLength, body.String())
	}
}

func BenchmarkAppendResponse(b *testing.B) {
	fixed := []Field{{"Access-Control-Allow-Origin", "*"}, {"Cache-Control", "private"}, {"Content-Type", "application/json"},
		{"X-Accel-Buffering", "no"}, {"X-Content-Type-Options", "nosniff"}}
	extra := []Field{{"Expires", Now().Next}}
	body := []byte(`{"since":1,"last_id":2,"messages":{"a":[]},"return_code":1,"error_message":""}`)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendResponse(buf[:0], 200, fixed, extra, body)
	}
}
