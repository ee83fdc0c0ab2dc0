package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (Linux 4.2): with a source
// address given, the port is chosen at connect time, per destination, so
// tens of thousands of connections (and TIME_WAIT leftovers) fit.
const ipBindAddressNoPort = 24

func bindNoPort(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// Conn is one keep-alive HTTP/1.1 connection to the server, redialled when
// the server closes it. It is not safe for concurrent use.
type Conn struct {
	addr  string // host:port
	local net.Addr
	c     net.Conn
	r     *bufio.Reader
	wbuf  bytes.Buffer
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
	return nil
}

// Close closes the connection; the next request dials again.
func (c *Conn) Close() {
	if c.c != nil {
		c.c.Close()
		c.c, c.r = nil, nil
	}
}

// Response is what a request got back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Send writes one request without waiting for its answer (see Receive).
func (c *Conn) Send(method, target string, hdr map[string]string, body []byte, timeout time.Duration) error {
	if err := c.Dial(timeout); err != nil {
		return err
	}
	b := &c.wbuf
	b.Reset()
	fmt.Fprintf(b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, c.addr)
	for k, v := range hdr {
		fmt.Fprintf(b, "%s: %s\r\n", k, v)
	}
	if body != nil {
		b.WriteString("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ")
		b.WriteString(strconv.Itoa(len(body)))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	_ = c.c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.c.Write(b.Bytes()); err != nil {
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
	_ = c.c.SetReadDeadline(time.Now().Add(timeout))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.Close()
		return Response{}, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.Close()
		return Response{}, err
	}
	if resp.Close {
		c.Close()
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
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
