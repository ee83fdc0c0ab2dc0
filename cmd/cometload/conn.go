package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"strconv"
	"time"
)

// Conn is one keep-alive HTTP/1.1 connection to the server, redialled when
// the server closes it. It is not safe for concurrent use.
//
// It writes requests and reads responses itself, without net/http: the
// tool shares the machine with the server it measures, so every
// microsecond it spends per delivery is taken from the server's cores
// and shows up in the latencies it reports (measured at a3f72e5; the old docs/PERFORMANCE.md at 29102cf, "Set L").
type Conn struct {
	addr  string // host:port
	local net.Addr
	c     net.Conn
	r     *bufio.Reader
	wbuf  []byte
	rdl   time.Time // the read deadline set last
	wdl   time.Time // the write deadline set last
}

// NewConn returns a connection to addr (host:port) that dials from the
// source IP src ("" for any). It dials lazily.
func NewConn(addr, src string) *Conn {
	c := &Conn{addr: addr}
	if src != "" {
		c.local = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	return c
}

// Dial opens the connection now (it is opened on first use otherwise).
func (c *Conn) Dial(timeout time.Duration) error {
	if c.c != nil {
		return nil
	}
	d := net.Dialer{Timeout: timeout, LocalAddr: c.local}
	if c.local != nil {
		d.Control = bindNoPort
	}
	nc, err := d.Dial("tcp", c.addr)
	if err != nil {
		return err
	}
	c.c = nc
	c.r = bufio.NewReaderSize(nc, 4096)
	c.rdl, c.wdl = time.Time{}, time.Time{}
	return nil
}

// Close closes the connection; the next request dials again.
func (c *Conn) Close() {
	if c.c != nil {
		c.c.Close()
		c.c, c.r = nil, nil
	}
}

// Response is what a request got back: the status, the two headers the
// tool reads (nchan's cursor) and the body.
type Response struct {
	Status       int
	LastModified string
	Etag         string
	Body         []byte
}

// deadline returns when an I/O given timeout must end, and whether last
// (the deadline set before) is near enough to keep: resetting a
// deadline costs a timer update per request, and a long poll's timeout
// is seconds, so up to an eighth of it (at most a second) either way
// does not matter.
func deadline(last time.Time, timeout time.Duration) (time.Time, bool) {
	want := time.Now().Add(timeout)
	slack := min(timeout/8, time.Second)
	if !last.IsZero() && want.After(last.Add(-slack)) && want.Before(last.Add(slack)) {
		return last, true
	}
	return want, false
}

// Send writes one request without waiting for its answer (see Receive).
func (c *Conn) Send(method, target string, hdr map[string]string, body []byte, timeout time.Duration) error {
	if err := c.Dial(timeout); err != nil {
		return err
	}
	b := append(c.wbuf[:0], method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.addr...)
	b = append(b, "\r\n"...)
	for k, v := range hdr {
		b = append(b, k...)
		b = append(b, ": "...)
		b = append(b, v...)
		b = append(b, "\r\n"...)
	}
	if body != nil {
		b = append(b, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	c.wbuf = b
	if dl, keep := deadline(c.wdl, timeout); !keep {
		_ = c.c.SetWriteDeadline(dl)
		c.wdl = dl
	}
	if _, err := c.c.Write(b); err != nil {
		c.Close()
		return err
	}
	return nil
}

// Receive reads the answer to the request sent last, waiting at most
// timeout.
func (c *Conn) Receive(timeout time.Duration) (Response, error) {
	if c.c == nil {
		return Response{}, errors.New("not connected")
	}
	if dl, keep := deadline(c.rdl, timeout); !keep {
		_ = c.c.SetReadDeadline(dl)
		c.rdl = dl
	}
	r, closing, err := readResponse(c.r)
	if err != nil || closing {
		c.Close()
	}
	return r, err
}

// readResponse reads one HTTP/1.x response from r: a status line,
// headers, and a body of Content-Length bytes, chunks, or up to the end
// of the connection. closing: the server will close the connection.
func readResponse(r *bufio.Reader) (resp Response, closing bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return resp, true, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return resp, true, fmt.Errorf("bad status line %.40q", line)
	}
	closing = line[7] == '0'
	if resp.Status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return resp, true, fmt.Errorf("bad status line %.40q", line)
	}
	length, chunked := -1, false
	for {
		line, err = r.ReadSlice('\n')
		if err != nil {
			return resp, true, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return resp, true, fmt.Errorf("bad header line %.40q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return resp, true, fmt.Errorf("bad Content-Length %.40q", value)
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "Connection"):
			if asciiEqualFold(value, "close") {
				closing = true
			} else if asciiEqualFold(value, "keep-alive") {
				closing = false
			}
		case asciiEqualFold(name, "Last-Modified"):
			resp.LastModified = string(value)
		case asciiEqualFold(name, "Etag"):
			resp.Etag = string(value)
		}
	}
	switch {
	case resp.Status/100 == 1 || resp.Status == 204 || resp.Status == 304:
	case chunked:
		resp.Body, err = io.ReadAll(httputil.NewChunkedReader(r))
		if err == nil {
			err = skipTrailer(r)
		}
	case length >= 0:
		resp.Body = make([]byte, length)
		_, err = io.ReadFull(r, resp.Body)
	default:
		closing = true
		resp.Body, err = io.ReadAll(r)
	}
	if err != nil {
		closing = true
	}
	return resp, closing, err
}

// skipTrailer reads the trailer section after a chunked body.
func skipTrailer(r *bufio.Reader) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Do sends a request and reads its answer; on a connection the server had
// closed meanwhile (keep-alive race) it retries once on a new connection.
func (c *Conn) Do(method, target string, hdr map[string]string, body []byte, timeout time.Duration) (Response, error) {
	fresh := c.c == nil
	err := c.Send(method, target, hdr, body, timeout)
	var r Response
	if err == nil {
		r, err = c.Receive(timeout)
	}
	if err != nil && !fresh && isStale(err) {
		if err = c.Send(method, target, hdr, body, timeout); err == nil {
			r, err = c.Receive(timeout)
		}
	}
	return r, err
}

func isStale(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	return !errors.As(err, &ne) || !ne.Timeout()
}
