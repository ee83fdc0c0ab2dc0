package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simple-comet/simple-comet/internal/parking"
)

// Native serves the requests of connections that the parking Lot holds
// idle (kept-alive after an answer, or new), without going through
// net/http: a subscriber's re-poll or a publish is read, parsed and run
// through the same handler, and a read that must wait is parked again.
// Only a request that arrived whole in one read, and that parseNative
// reads exactly as net/http would, is served here; anything else (chunked or partial bodies, pipelining, HTTP/1.0, other
// protocols) is handed to net/http with the bytes already read.
type Native struct {
	Handler        http.Handler
	MaxHeaderBytes int
}

var _ parking.Server = (*Native)(nil)

// Serve implements parking.Server.
func (n *Native) Serve(c net.Conn, data []byte) (out parking.Outcome) {
	var w *nativeWriter
	defer func() {
		// As net/http does: a handler that panics loses its connection,
		// not the server.
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				slog.Error("panic serving a request", "remote", remoteAddr(c), "panic", v, "stack", string(debug.Stack()))
			}
			out = parking.Outcome{Close: true}
			if w != nil && w.hijacked {
				out = parking.Outcome{Parked: true} // the parked read owns it now
			}
		}
	}()
	nr := nativeReqs.Get().(*nativeReq)
	defer func() {
		nr.reset()
		nativeReqs.Put(nr)
	}()
	req, ok := parseInto(data, n.MaxHeaderBytes, nr)
	if !ok {
		return parking.Outcome{HandOff: true}
	}
	req.RemoteAddr = remoteAddr(c)
	if f, ok := n.Handler.(fastServer); ok {
		if resp, parked, ok := f.serveFast(c, req, nr.raw); ok {
			if parked {
				return parking.Outcome{Parked: true}
			}
			return parking.Outcome{Resp: resp, Close: req.Close}
		}
	}
	w = writers.Get().(*nativeWriter)
	w.conn = c
	n.Handler.ServeHTTP(w, req) // after a panic, w is not reused
	if w.hijacked {
		w.release()
		return parking.Outcome{Parked: true}
	}
	out = parking.Outcome{Resp: w.response(req), Close: req.Close || w.Header().Get("Connection") == "close"}
	w.release()
	return out
}

// writers are reused: a handler is done with its writer when it returns,
// and the response is copied out of it.
var writers = sync.Pool{New: func() any { return &nativeWriter{} }}

func (w *nativeWriter) release() {
	if w.body.Cap() > 64<<10 {
		return // a big reply: let the buffer go
	}
	clear(w.header)
	w.conn, w.status, w.hijacked = nil, 0, false
	w.body.Reset()
	writers.Put(w)
}

// remoteAddr is c's peer address, formatted once per connection.
func remoteAddr(c net.Conn) string {
	if a, ok := c.(interface{ RemoteAddrString() string }); ok {
		return a.RemoteAddrString()
	}
	return c.RemoteAddr().String()
}

// connOf is the connection a request came on: from the context under
// net/http, from the nativeWriter (however wrapped) under Native.
func connOf(w http.ResponseWriter, r *http.Request) net.Conn {
	if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
		return c
	}
	for {
		switch x := w.(type) {
		case *nativeWriter:
			return x.conn
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
}

// nativeWriter collects a response for Native.
type nativeWriter struct {
	conn     net.Conn
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *nativeWriter) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header, 8)
	}
	return w.header
}

func (w *nativeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *nativeWriter) Write(b []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// Hijack lets a held read park this connection again; nothing is buffered.
func (w *nativeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, errors.New("already hijacked")
	}
	w.hijacked = true
	return w.conn, emptyRW, nil
}

// emptyRW is what a native Hijack returns besides the connection: nothing
// was read ahead, and nothing is ever read from it.
var emptyRW = bufio.NewReadWriter(bufio.NewReaderSize(bytes.NewReader(nil), 16), nil)

// SetReadDeadline and SetWriteDeadline: under Native the request is all
// read already and the Lot writes the response, so there is nothing to
// bound (http.ResponseController finds these).
func (w *nativeWriter) SetReadDeadline(time.Time) error  { return nil }
func (w *nativeWriter) SetWriteDeadline(time.Time) error { return nil }

// response is the whole HTTP/1.1 response, as net/http would write it
// (headers in sorted order).
func (w *nativeWriter) response(req *http.Request) []byte {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	h := w.Header()
	if _, ok := h["Content-Length"]; !ok && w.status != http.StatusNoContent && w.status != http.StatusNotModified {
		h["Content-Length"] = []string{strconv.Itoa(w.body.Len())}
	}
	if _, ok := h["Date"]; !ok {
		h["Date"] = []string{currentDates().date}
	}
	if _, ok := h["Content-Type"]; !ok && w.body.Len() > 0 {
		h.Set("Content-Type", http.DetectContentType(w.body.Bytes()))
	}
	if req.Close {
		h["Connection"] = []string{"close"}
	}
	var keyBuf [16]string
	keys := keyBuf[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, w.body.Len()+64+40*len(keys))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(w.status)...)
	b = append(b, "\r\n"...)
	for _, k := range keys {
		for _, v := range h[k] {
			b = append(b, k...)
			b = append(b, ": "...)
			if strings.IndexByte(v, '\r') >= 0 || strings.IndexByte(v, '\n') >= 0 {
				v = headerNewlines.Replace(v)
			}
			b = append(b, strings.TrimSpace(v)...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	if req.Method != http.MethodHead {
		b = append(b, w.body.Bytes()...)
	}
	return b
}

// headerNewlines: as net/http writes a header value.
var headerNewlines = strings.NewReplacer("\n", " ", "\r", " ")
