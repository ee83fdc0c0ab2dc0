package httpapi

import (
	"net/http"
	"strconv"
)

const (
	ctJSON = "application/json"
	ctJS   = "application/javascript"

	// readCacheControl is the original server's cache policy for reads.
	readCacheControl = "private, must-revalidate, proxy-revalidate, max-age=1, s-max-age=1, stale-while-revalidate=1, stale-if-error=86400"

	invalidCallbackBody = "/* invalid JSONP callback name */"
)

// out describes how one request is answered: its format, callback and
// whether it is a read (which has its own headers).
type out struct {
	format   format
	callback string
	read     bool
	quote    bool
}

// body wraps an encoded JSON object for the wire: JSON-P gets
// "/**/CB(JSON);", --quote-json gets "/*-secure-\nJSON\n*/".
func (o *out) body(obj []byte) []byte {
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

func (o *out) obj() *object { return newObject(o.quote && o.format != formatJSONP) }

// Header values shared by every reply (never appended to in place: a
// slice of capacity 1 is copied by an append).
var (
	hvNosniff   = []string{"nosniff"}
	hvJSON      = []string{ctJSON}
	hvJS        = []string{ctJS}
	hvNo        = []string{"no"}
	hvAny       = []string{"*"}
	hvReadCache = []string{readCacheControl}
	hvNoStore   = []string{"no-store"}
)

// headers sets the headers every reply of this request carries (the keys
// are canonical already).
func (o *out) headers(h http.Header) {
	h["X-Content-Type-Options"] = hvNosniff
	if o.format == formatJSONP {
		h["Content-Type"] = hvJS
	} else {
		h["Content-Type"] = hvJSON
	}
	if o.read {
		h["X-Accel-Buffering"] = hvNo
		h["Access-Control-Allow-Origin"] = hvAny
		h["Cache-Control"] = hvReadCache
		h.Set("Expires", currentDates().expires)
	} else {
		h["Cache-Control"] = hvNoStore
	}
}

// send writes a finished object with the HTTP status its return code calls
// for: 503 with Retry-After for -5 in JSON (a JSON-P script that got 503
// would never run its callback, so JSON-P stays 200).
func (o *out) send(w http.ResponseWriter, code int, obj []byte) {
	status := http.StatusOK
	if code == codeUnavailable && o.format != formatJSONP {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	o.sendStatus(w, status, obj)
}

func (o *out) sendStatus(w http.ResponseWriter, status int, obj []byte) {
	o.headers(w.Header())
	b := o.body(obj)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// finish appends return_code and error_message to a success object.
func finish(o *object, code int) []byte {
	return o.int("return_code", int64(code)).str("error_message", "").done()
}

// fail answers an API error.
func (o *out) fail(w http.ResponseWriter, e *apiError) {
	obj := o.obj().int("return_code", int64(e.code)).str("error_message", e.msg).done()
	o.send(w, e.code, obj)
}

// failStatus answers an API error with a fixed HTTP status, always as JSON
// (404, 405, 413: no script would run on those anyway).
func (o *out) failStatus(w http.ResponseWriter, status int, e *apiError) {
	j := out{format: formatJSON, quote: o.quote, read: o.read}
	obj := j.obj().int("return_code", int64(e.code)).str("error_message", e.msg).done()
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	j.sendStatus(w, status, obj)
}

// invalidCallback is the answer to a JSON-P request with a bad cb: nothing
// was done and the name is never echoed.
func invalidCallback(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", ctJS)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(invalidCallbackBody)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(invalidCallbackBody))
}
