package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Cursor is where a subscriber is in its channels: our `since`, or nchan's
// Last-Modified / Etag pair.
type Cursor struct {
	Since   int64
	LastMod string
	Etag    string
}

// Protocol is one server's HTTP dialect.
type Protocol interface {
	Name() string
	// Prepare makes channel ready to publish to and read from.
	Prepare(c *Conn, channel string) error
	Publish(c *Conn, channel string, content []byte) error
	// PollRequest writes a poll of channels from cur without waiting.
	PollRequest(c *Conn, channels []string, cur *Cursor) error
	// PollAnswer reads the answer to PollRequest, advances cur and returns
	// the contents delivered (none on a hold timeout).
	PollAnswer(c *Conn, cur *Cursor, timeout time.Duration) ([]string, error)
	// Held is how many polls the server holds now (-1: it cannot tell).
	Held(c *Conn) (int, error)
}

// NewProtocol returns "ours" or "nchan".
func NewProtocol(name string) (Protocol, error) {
	switch name {
	case "ours":
		return ours{}, nil
	case "nchan":
		return nchan{}, nil
	}
	return nil, fmt.Errorf("unknown protocol %q (want ours or nchan)", name)
}

const ioTimeout = 30 * time.Second

// Poll sends a poll and waits for its answer.
func Poll(p Protocol, c *Conn, channels []string, cur *Cursor, timeout time.Duration) ([]string, error) {
	if err := p.PollRequest(c, channels, cur); err != nil {
		return nil, err
	}
	return p.PollAnswer(c, cur, timeout)
}

// ours speaks Simple Comet's protocol (docs/PROTOCOL.md).
type ours struct{}

func (ours) Name() string { return "ours" }

func (ours) Prepare(c *Conn, channel string) error {
	r, err := c.Do("POST", "/channels.json", nil, []byte("channel_id="+url.QueryEscape(channel)), ioTimeout)
	if err != nil {
		return err
	}
	code, err := returnCode(r.Body)
	if err != nil || (code < 1 && code != -2) { // -2: it exists already
		return fmt.Errorf("register %s: status %d %s", channel, r.Status, r.Body)
	}
	return nil
}

func (ours) Publish(c *Conn, channel string, content []byte) error {
	body := append([]byte("content="), url.QueryEscape(string(content))...)
	r, err := c.Do("POST", "/channels/"+url.PathEscape(channel)+".json", nil, body, ioTimeout)
	if err != nil {
		return err
	}
	if code, err := returnCode(r.Body); err != nil || code < 1 {
		return fmt.Errorf("publish: status %d %s", r.Status, r.Body)
	}
	return nil
}

func (ours) PollRequest(c *Conn, channels []string, cur *Cursor) error {
	path := "/channels/" + url.PathEscape(strings.Join(channels, "|")) + ".json?since=" + strconv.FormatInt(cur.Since, 10)
	return c.Send("GET", path, nil, nil, ioTimeout)
}

type readReply struct {
	LastID     int64                                 `json:"last_id"`
	ReturnCode int                                   `json:"return_code"`
	Messages   map[string][]struct{ Content string } `json:"messages"`
}

func (ours) PollAnswer(c *Conn, cur *Cursor, timeout time.Duration) ([]string, error) {
	r, err := c.Receive(timeout)
	if err != nil {
		return nil, err
	}
	if last, out, ok := scanReadReply(r.Body); ok {
		cur.Since = last
		return out, nil
	}
	var rr readReply
	if err := json.Unmarshal(r.Body, &rr); err != nil || rr.ReturnCode < 1 {
		return nil, fmt.Errorf("read: status %d %.200s", r.Status, r.Body)
	}
	cur.Since = rr.LastID
	var out []string
	for _, ms := range rr.Messages {
		for _, m := range ms {
			out = append(out, m.Content)
		}
	}
	return out, nil
}

// scanReadReply reads a successful read reply the way the server writes it
// ({"since":S,"last_id":L,"messages":{"CH":[{"content":"..","id":..,"ts":..}]},
// ...,"return_code":1,...}) without reflection, for contents without
// escapes; ok is false for anything else, which json.Unmarshal then
// reads. The tool decodes a reply for a fifth of the CPU of
// json.Unmarshal, so that on a shared machine the client's own cost
// weighs as little as it can on the latencies it measures.
func scanReadReply(b []byte) (lastID int64, contents []string, ok bool) {
	if !bytes.HasSuffix(b, []byte(`"return_code":1,"error_message":""}`)) {
		return 0, nil, false
	}
	i := bytes.Index(b, []byte(`"last_id":`))
	if i < 0 {
		return 0, nil, false
	}
	rest := b[i+len(`"last_id":`):]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		lastID = lastID*10 + int64(rest[n]-'0')
		n++
	}
	if n == 0 {
		return 0, nil, false
	}
	rest = rest[n:]
	marker := []byte(`{"content":"`)
	for {
		j := bytes.Index(rest, marker)
		if j < 0 {
			return lastID, contents, true
		}
		rest = rest[j+len(marker):]
		k := bytes.IndexByte(rest, '"')
		if k < 0 || bytes.IndexByte(rest[:k], '\\') >= 0 {
			return 0, nil, false // escapes: leave it to encoding/json
		}
		contents = append(contents, string(rest[:k]))
		rest = rest[k+1:]
	}
}

func (ours) Held(c *Conn) (int, error) {
	r, err := c.Do("GET", "/status.json", nil, nil, ioTimeout)
	if err != nil {
		return -1, err
	}
	var st struct {
		Held *int `json:"held_connections_count"`
	}
	if json.Unmarshal(r.Body, &st) != nil || st.Held == nil {
		return -1, nil // status disabled
	}
	return *st.Held, nil
}

// Goroutines reads the count /status.json gives (--enable-status).
func (ours) Goroutines(c *Conn) (int, error) {
	r, err := c.Do("GET", "/status.json", nil, nil, ioTimeout)
	if err != nil {
		return -1, err
	}
	var st struct {
		Status struct {
			Goroutines *int `json:"goroutines"`
		} `json:"status"`
	}
	if json.Unmarshal(r.Body, &st) != nil || st.Status.Goroutines == nil {
		return -1, errors.New("no goroutine count in /status.json")
	}
	return *st.Status.Goroutines, nil
}

func returnCode(b []byte) (int, error) {
	var v struct {
		ReturnCode int `json:"return_code"`
	}
	err := json.Unmarshal(b, &v)
	return v.ReturnCode, err
}

// nchan speaks nchan's HTTP publisher and long-poll subscriber
// (bench/nchan.conf.tmpl): POST /pub?id=CH, GET /sub?id=CH with
// If-Modified-Since / If-None-Match taken from the previous reply.
type nchan struct{}

func (nchan) Name() string { return "nchan" }

func (nchan) Prepare(*Conn, string) error { return nil } // channels appear on use

func (nchan) Publish(c *Conn, channel string, content []byte) error {
	r, err := c.Do("POST", "/pub?id="+url.QueryEscape(channel), nil, content, ioTimeout)
	if err != nil {
		return err
	}
	if r.Status != 201 && r.Status != 202 {
		return fmt.Errorf("publish: status %d %.200s", r.Status, r.Body)
	}
	return nil
}

func (nchan) PollRequest(c *Conn, channels []string, cur *Cursor) error {
	if len(channels) != 1 {
		return errors.New("nchan: one channel per poll")
	}
	var hdr map[string]string
	if cur.LastMod != "" {
		hdr = map[string]string{"If-Modified-Since": cur.LastMod, "If-None-Match": cur.Etag}
	}
	return c.Send("GET", "/sub?id="+url.QueryEscape(channels[0]), hdr, nil, ioTimeout)
}

func (nchan) PollAnswer(c *Conn, cur *Cursor, timeout time.Duration) ([]string, error) {
	r, err := c.Receive(timeout)
	if err != nil {
		return nil, err
	}
	switch r.Status {
	case 200:
		cur.LastMod, cur.Etag = r.LastModified, r.Etag
		return []string{string(r.Body)}, nil
	case 304, 408: // hold timed out
		return nil, nil
	}
	return nil, fmt.Errorf("subscribe: status %d %.200s", r.Status, r.Body)
}

var subscribersRE = regexp.MustCompile(`(?m)^subscribers: (\d+)`)

func (nchan) Held(c *Conn) (int, error) {
	r, err := c.Do("GET", "/nchan_status", nil, nil, ioTimeout)
	if err != nil {
		return -1, err
	}
	m := subscribersRE.FindSubmatch(r.Body)
	if m == nil {
		return -1, nil
	}
	n, _ := strconv.Atoi(string(bytes.TrimSpace(m[1])))
	return n, nil
}

// Content is a test message: its sequence number and publish time (Unix
// nanoseconds), padded to size bytes.
func Content(seq int, at time.Time, size int) []byte {
	b := fmt.Appendf(nil, "%d %d ", seq, at.UnixNano())
	for len(b) < size {
		b = append(b, 'x')
	}
	return b
}

// ParseContent reads back what Content wrote.
func ParseContent(s string) (seq int, at int64, ok bool) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0, 0, false
	}
	seq, err1 := strconv.Atoi(f[0])
	at, err2 := strconv.ParseInt(f[1], 10, 64)
	return seq, at, err1 == nil && err2 == nil
}
