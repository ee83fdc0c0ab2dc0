package h1

import (
	"bufio"
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/simple-comet/simple-comet/internal/parking"
)

// Native serves the requests of connections that the parking Lot holds
// idle (kept-alive after an answer, or new), without going through
// net/http: a request is parsed (Parse) and served by Fast when it takes
// it, else by Handler through a ResponseWriter that collects the
// response; a read that must wait is parked again. Only a request that
// arrived whole in one read, and that Parse reads exactly as net/http
// would, is served here; anything else (chunked or partial bodies,
// pipelining, HTTP/1.0, other protocols) is handed to net/http with the
// bytes already read, and so is a request that Fast sends elsewhere
// (HandOff: work that may block, which must not run on an event loop).
type Native struct {
	Handler        http.Handler
	Fast           FastServer // may be nil
	MaxHeaderBytes int
	Logger         *slog.Logger // panics; nil: slog's default
}

// FastServer serves some requests whole from the parsed request and its
// body, without a ResponseWriter.
type FastServer interface {
	// ServeFast says what it did with r (which came on c, with body):
	// Served (resp is the whole response), Parked (the read was parked
	// on c: nothing to write now), General (nothing was done: serve r
	// through the Handler), or HandOff (nothing was done: give the
	// connection to net/http), or Offload (nothing was done: serving r
	// may wait, and parking.MayBlock(c) says this goroutine must not).
	ServeFast(c net.Conn, r *http.Request, body []byte) (resp []byte, v Verdict)
}

// Verdict is what a FastServer did with a request.
type Verdict uint8

const (
	General Verdict = iota
	Served
	Parked
	HandOff
	Offload
)

var _ parking.Server = (*Native)(nil)

// Serve implements parking.Server.
func (n *Native) Serve(c net.Conn, data []byte) (out parking.Outcome) {
	var w *writer
	defer func() {
		// As net/http does: a handler that panics loses its connection,
		// not the server.
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				log := n.Logger
				if log == nil {
					log = slog.Default()
				}
				log.Error("panic serving a request", "remote", remoteAddr(c), "panic", v, "stack", string(debug.Stack()))
			}
			out = parking.Outcome{Close: true}
			if w != nil && w.hijacked {
				out = parking.Outcome{Parked: true} // the parked read owns it now
			}
		}
	}()
	nr := requests.Get().(*Request)
	defer func() {
		nr.Reset()
		requests.Put(nr)
	}()
	req, ok := nr.Parse(data, n.MaxHeaderBytes)
	if !ok {
		return parking.Outcome{HandOff: true}
	}
	req.RemoteAddr = remoteAddr(c)
	if n.Fast != nil {
		switch resp, v := n.Fast.ServeFast(c, req, nr.raw); v {
		case Served:
			return parking.Outcome{Resp: resp, Close: req.Close}
		case Parked:
			return parking.Outcome{Parked: true}
		case HandOff:
			return parking.Outcome{HandOff: true}
		case Offload:
			return parking.Outcome{Offload: true}
		}
	}
	w = writers.Get().(*writer)
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

// Respond is the response that serve writes through Native's
// ResponseWriter, for r on c: a FastServer's way to answer through the
// general path's writer.
func Respond(c net.Conn, r *http.Request, serve func(http.ResponseWriter)) []byte {
	w := writers.Get().(*writer)
	w.conn = c
	serve(w)
	resp := w.response(r)
	w.release()
	return resp
}

// writers are reused: a handler is done with its writer when it returns,
// and the response is copied out of it.
var writers = sync.Pool{New: func() any { return &writer{} }}

func (w *writer) release() {
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

// ConnOf is the connection of a request that Native serves through w
// (however wrapped), or nil when w is not Native's.
func ConnOf(w http.ResponseWriter) net.Conn {
	for {
		switch x := w.(type) {
		case *writer:
			return x.conn
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
}

// writer collects a response for Native.
type writer struct {
	conn     net.Conn
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *writer) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header, 8)
	}
	return w.header
}

func (w *writer) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *writer) Write(b []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// Hijack lets a held read park this connection again; nothing is buffered.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
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
func (w *writer) SetReadDeadline(time.Time) error  { return nil }
func (w *writer) SetWriteDeadline(time.Time) error { return nil }

// response is the whole HTTP/1.1 response, as net/http would write it
// (headers in sorted order).
func (w *writer) response(req *http.Request) []byte {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	h := w.Header()
	length := int64(-1)
	if _, ok := h["Content-Length"]; !ok && w.status != http.StatusNoContent && w.status != http.StatusNotModified {
		length = int64(w.body.Len())
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
	var fieldBuf [16]Field
	fields := fieldBuf[:0]
	for _, k := range keys {
		for _, v := range h[k] {
			fields = append(fields, Field{k, v})
		}
	}
	b := make([]byte, 0, w.body.Len()+64+40*len(fields))
	b = AppendHead(b, w.status, nil, fields, length)
	if req.Method != http.MethodHead {
		b = append(b, w.body.Bytes()...)
	}
	return b
}
