package httpapi

import (
	"net/http"
	"strconv"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/h1"
)

const (
	ctJSON = "application/json"
	ctJS   = "application/javascript"

	// readCacheControl is the original server's cache policy for reads.
	readCacheControl = "private, must-revalidate, proxy-revalidate, max-age=1, s-max-age=1, stale-while-revalidate=1, stale-if-error=86400"

	invalidCallbackBody = "/* invalid JSONP callback name */"
)

// reply describes how one request is answered: its format, callback and
// whether it is a read (which has its own headers). Both transports write
// its replies with the same header fields: net/http through an
// http.Header (headers), the lean one through h1 (appendReply).
type reply struct {
	format   format
	callback string
	read     bool
	quote    bool
}

// body wraps an encoded JSON object for the wire: JSON-P gets
// "/**/CB(JSON);", --quote-json gets "/*-secure-\nJSON\n*/".
func (o *reply) body(obj []byte) []byte {
	switch {
	case o.format == formatJSONP:
		b := make([]byte, 0, len(obj)+len(o.callback)+8)
		b = append(b, "/**/"...)
		b = append(b, o.callback...)
		b = append(b, '(')
		b = append(b, obj...)
		return append(b, ");"...)
	case o.quote:
		b := make([]byte, 0, len(obj)+16)
		b = append(b, "/*-secure-\n"...)
		b = append(b, obj...)
		return append(b, "\n*/"...)
	}
	return obj
}

// obj starts a reply's object (slashes escaped under --quote-json, where
// the reply is not JSON-P).
func (o *reply) obj() object { return newObject(o.quote && o.format != formatJSONP) }

// objIn is obj over b (a caller's buffer).
func (o *reply) objIn(b []byte) object { return objectIn(b, o.quote && o.format != formatJSONP) }

// headerSet is the fixed header fields of one kind of reply, sorted by
// name, with each value also as the []string an http.Header holds (never
// appended to in place: a slice of capacity 1 is copied by an append).
type headerSet struct {
	fields []h1.Field
	vals   [][]string
}

func newHeaderSet(fields ...h1.Field) *headerSet {
	hs := &headerSet{fields: fields}
	for _, f := range fields {
		hs.vals = append(hs.vals, []string{f.Value})
	}
	return hs
}

// The header sets of the replies, the one table both transports use:
// reads (JSON or JSON-P) and every other reply. A read also carries
// Expires (one second ahead), and a reply Connection: close or
// Retry-After when it calls for them.
var (
	readJSONHeaders  = readHeaders(ctJSON)
	readJSHeaders    = readHeaders(ctJS)
	otherJSONHeaders = otherHeaders(ctJSON)
	otherJSHeaders   = otherHeaders(ctJS)
)

// readHeaders is the header set of a read's reply of content type ct.
func readHeaders(ct string) *headerSet {
	return newHeaderSet(
		h1.Field{Name: "Access-Control-Allow-Origin", Value: "*"},
		h1.Field{Name: "Cache-Control", Value: readCacheControl},
		h1.Field{Name: "Content-Type", Value: ct},
		h1.Field{Name: "X-Accel-Buffering", Value: "no"},
		h1.Field{Name: "X-Content-Type-Options", Value: "nosniff"},
	)
}

// otherHeaders is the header set of any other reply of content type ct.
func otherHeaders(ct string) *headerSet {
	return newHeaderSet(
		h1.Field{Name: "Cache-Control", Value: "no-store"},
		h1.Field{Name: "Content-Type", Value: ct},
		h1.Field{Name: "X-Content-Type-Options", Value: "nosniff"},
	)
}

// headerSet is the fixed header set of this request's replies.
func (o *reply) headerSet() *headerSet {
	switch {
	case o.read && o.format == formatJSONP:
		return readJSHeaders
	case o.read:
		return readJSONHeaders
	case o.format == formatJSONP:
		return otherJSHeaders
	}
	return otherJSONHeaders
}

// headers sets the headers every reply of this request carries, for
// net/http (the keys are canonical already).
func (o *reply) headers(h http.Header) {
	hs := o.headerSet()
	for i, f := range hs.fields {
		h[f.Name] = hs.vals[i]
	}
	if o.read {
		h.Set("Expires", h1.Now().Next)
	}
}

// appendReply appends the whole response with body (a wrapped object) for
// the lean transport: the fields of headers, and Connection: close when
// close is set, Retry-After when retry is.
func (o *reply) appendReply(b []byte, status int, body []byte, close, retry bool) []byte {
	var buf [3]h1.Field
	extra := buf[:0]
	if close {
		extra = append(extra, h1.Field{Name: "Connection", Value: "close"})
	}
	if o.read {
		extra = append(extra, h1.Field{Name: "Expires", Value: h1.Now().Next})
	}
	if retry {
		extra = append(extra, h1.Field{Name: "Retry-After", Value: "1"})
	}
	return h1.AppendResponse(b, status, o.headerSet().fields, extra, body)
}

// send writes a finished object with the HTTP status its return code calls
// for: 503 with Retry-After for -5 in JSON (a JSON-P script that got 503
// would never run its callback, so JSON-P stays 200).
func (o *reply) send(w http.ResponseWriter, code int, obj []byte) {
	status := http.StatusOK
	if code == codeUnavailable && o.format != formatJSONP {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	o.sendStatus(w, status, obj)
}

func (o *reply) sendStatus(w http.ResponseWriter, status int, obj []byte) {
	o.headers(w.Header())
	b := o.body(obj)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// finish appends return_code and error_message to a success object.
func finish(o object, code int) []byte {
	return o.int("return_code", int64(code)).str("error_message", "").done()
}

// publishReply is the object that answers a stored publish of m to name.
func publishReply(o object, name string, m comet.Message) []byte {
	return finish(o.str("channel_id", name).int("message_id", m.ID).int("ts", m.TS), codeOK)
}

// fail answers an API error.
func (o *reply) fail(w http.ResponseWriter, e *apiError) {
	obj := o.obj().int("return_code", int64(e.code)).str("error_message", e.msg).done()
	o.send(w, e.code, obj)
}

// failStatus answers an API error with a fixed HTTP status, always as JSON
// (404, 405, 413: no script would run on those anyway).
func (o *reply) failStatus(w http.ResponseWriter, status int, e *apiError) {
	j := reply{format: formatJSON, quote: o.quote, read: o.read}
	obj := j.obj().int("return_code", int64(e.code)).str("error_message", e.msg).done()
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	j.sendStatus(w, status, obj)
}

// invalidCallback is the answer to a JSON-P request with a bad cb: nothing
// was done and the name is never echoed.
func invalidCallback(w http.ResponseWriter) {
	(&reply{format: formatJSONP}).headers(w.Header())
	w.Header().Set("Content-Length", strconv.Itoa(len(invalidCallbackBody)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(invalidCallbackBody))
}

// requestTimedOut answers a request whose body did not arrive in time:
// 408 in plain text, then the connection is closed (PROTOCOL.md,
// "Requests that do not arrive"). Nothing of it was done.
func requestTimedOut(w http.ResponseWriter) {
	h := w.Header()
	for _, f := range h1.TimeoutFields {
		h.Set(f.Name, f.Value)
	}
	h.Set("Content-Length", strconv.Itoa(len(h1.TimeoutBody)))
	w.WriteHeader(http.StatusRequestTimeout)
	_, _ = w.Write([]byte(h1.TimeoutBody))
}
