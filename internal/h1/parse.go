package h1

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Request is the storage of one parsed request, reused once its handler
// has returned (Native.Serve pools them). The strings it hands out (the
// target, the header values) are never reused: handlers may keep them.
type Request struct {
	req  http.Request
	url  url.URL
	hdr  http.Header
	vals []string
	body bodyReader
	raw  []byte // the body, in the caller's buffer (nil when empty)
}

// bodyReader is a request body already in memory.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// Body is the body of the request parsed last, in the buffer Parse was
// given (nil when empty).
func (nr *Request) Body() []byte { return nr.raw }

// Reset forgets the last request.
func (nr *Request) Reset() {
	nr.req = http.Request{}
	nr.url = url.URL{}
	clear(nr.hdr)
	clear(nr.vals)
	nr.vals = nr.vals[:0]
	nr.body.Reset(nil)
	nr.raw = nil
}

var requests = sync.Pool{New: func() any { return new(Request) }}

// Parse parses a request that data holds whole: an HTTP/1.1 GET or POST
// whose head is plain (no folding, no chunked body, no Expect) and whose
// body, if any, is all there (Content-Length). It accepts only what
// net/http's parser reads the same way (a fuzz test compares them) and
// says no to anything else, which then goes to net/http. It allocates
// only the target and one string for the header values: no buffered
// reader per request.
func (nr *Request) Parse(data []byte, maxHeader int) (*http.Request, bool) {
	end := bytes.Index(data, crlf2)
	if end < 0 || (maxHeader > 0 && end > maxHeader) {
		return nil, false
	}
	// The target is a string of its own (a held poll keeps its channel
	// names); the host and every header value are pieces of one string.
	nl := bytes.Index(data, crlf)
	line, head, body := data[:nl], string(data[nl+2:end+2]), data[end+4:]
	var method string
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		method, line = http.MethodGet, line[4:]
	case bytes.HasPrefix(line, []byte("POST ")):
		method, line = http.MethodPost, line[5:]
	default:
		return nil, false
	}
	if !bytes.HasSuffix(line, []byte(" HTTP/1.1")) {
		return nil, false
	}
	target := line[:len(line)-9]
	if len(target) == 0 || target[0] != '/' {
		return nil, false
	}
	q, escaped := len(target), false
	for i, c := range target {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return nil, false
		}
		if c == '?' && q == len(target) {
			q = i
		}
		if c == '%' && q == len(target) {
			escaped = true
		}
	}
	uri := string(target)
	var u *url.URL
	if escaped {
		// As net/http reads it (a multi-channel read's | is often sent
		// as %7C).
		var err error
		if u, err = url.ParseRequestURI(uri); err != nil {
			return nil, false
		}
	} else {
		nr.url = url.URL{Path: uri[:q]}
		u = &nr.url
		for i := range q {
			if !pathByte(uri[i]) {
				u.RawPath = u.Path // as url.URL.setPath keeps a path it would escape
				break
			}
		}
		if q < len(uri) {
			u.RawQuery = uri[q+1:]
			if u.RawQuery == "" {
				u.ForceQuery = true
			}
		}
	}
	r := &nr.req
	*r = http.Request{
		Method: method, URL: u, RequestURI: uri,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
	// One array holds every header's value: each header's slice is a
	// piece of it, capped so that a repeated header appends elsewhere.
	nh := strings.Count(head, "\r\n")
	if nr.hdr == nil {
		nr.hdr = make(http.Header, nh)
	}
	r.Header = nr.hdr
	vals := nr.vals[:0]
	if cap(vals) < nh {
		vals = make([]string, 0, nh)
	}

	hasHost, hasLength := false, false
	for len(head) > 0 {
		nl := strings.Index(head, "\r\n")
		line := head[:nl]
		head = head[nl+2:]
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return nil, false
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		for i := range len(name) {
			if !tokenByte(name[i]) {
				return nil, false
			}
		}
		for i := range len(value) {
			if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
				return nil, false
			}
		}
		key := canonicalKey(name)
		switch key {
		case "Host":
			if hasHost {
				return nil, false
			}
			hasHost = true
			for i := range len(value) {
				if !hostByte(value[i]) {
					return nil, false // net/http answers 400: let it
				}
			}
			r.Host = value
			continue
		case "Content-Length":
			if hasLength || len(value) == 0 || len(value) > 9 {
				return nil, false
			}
			hasLength = true
			n := int64(0)
			for i := range len(value) {
				c := value[i]
				if c < '0' || c > '9' {
					return nil, false
				}
				n = n*10 + int64(c-'0')
			}
			r.ContentLength = n
		case "Transfer-Encoding", "Expect", "Trailer":
			return nil, false
		case "Connection":
			if hasToken(value, "close") {
				r.Close = true
			}
		}
		if old, ok := r.Header[key]; ok {
			r.Header[key] = append(old, value)
		} else {
			vals = append(vals, value)
			r.Header[key] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
	nr.vals = vals
	if !hasHost || r.Host == "" || int64(len(body)) != r.ContentLength {
		return nil, false
	}
	if method == http.MethodPost && !hasLength {
		return nil, false
	}
	if r.ContentLength > 0 {
		nr.body.Reset(body)
		nr.raw = body
		r.Body = &nr.body
	} else {
		r.Body = http.NoBody
	}
	return r, true
}

var (
	crlf  = []byte("\r\n")
	crlf2 = []byte("\r\n\r\n")
)

// trimOWS drops the optional white space around a header value.
func trimOWS(b string) string {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// tokenByte reports whether c may be in an HTTP token (RFC 9110 tchar).
func tokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// pathByte reports whether url.URL leaves c unescaped in a path.
func pathByte(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	switch c {
	case '-', '_', '.', '~', '$', '&', '+', ',', '/', ':', ';', '=', '@':
		return true
	}
	return false
}

// hostByte reports whether c is taken in a Host value here (a subset of
// what net/http takes).
func hostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_'
}

// commonKeys are the header names clients send most, canonical, so that
// their keys cost no allocation.
var commonKeys = []string{"Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language",
	"Connection", "Content-Length", "Content-Type", "Authorization", "Referer", "Origin",
	"Cookie", "Cache-Control", "Pragma", "X-Forwarded-For", "X-Real-Ip", "X-Requested-With",
	"If-Modified-Since", "If-None-Match", "Keep-Alive"}

// canonicalKey is name in canonical form (textproto's).
func canonicalKey(name string) string {
	for _, k := range commonKeys {
		if len(k) == len(name) && canonicalEqual(name, k) {
			return k
		}
	}
	return http.CanonicalHeaderKey(name)
}

// canonicalEqual reports whether name is k in any letter case (k is
// canonical).
func canonicalEqual(name, k string) bool {
	for i := range len(name) {
		a, b := name[i], k[i]
		if a|0x20 != b|0x20 {
			return false
		}
		if (a|0x20 < 'a' || a|0x20 > 'z') && a != b {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds t (any case).
func hasToken(v, t string) bool {
	for len(v) > 0 {
		i := strings.IndexByte(v, ',')
		part := v
		if i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		if strings.EqualFold(trimOWS(part), t) {
			return true
		}
	}
	return false
}
