package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"

	"github.com/simple-comet/simple-comet/internal/parking"
)

// Native serves the next request of a kept-alive connection that the
// parking Lot holds, without going back through net/http: a subscriber's
// re-poll is read, parsed (by net/http's own parser) and run through the
// same handler, and parked again if it must wait. Only a GET whose request
// arrived whole in one read is served here; anything else (bodies,
// pipelining, partial heads, other protocols) is handed to net/http with
// the bytes already read.
type Native struct {
	Handler        http.Handler
	MaxHeaderBytes int
}

var _ parking.Server = (*Native)(nil)

// Serve implements parking.Server.
func (n *Native) Serve(c net.Conn, data []byte) parking.Outcome {
	head := bytes.Index(data, []byte("\r\n\r\n"))
	if head < 0 || head+4 != len(data) || (n.MaxHeaderBytes > 0 && head > n.MaxHeaderBytes) {
		return parking.Outcome{HandOff: true}
	}
	req, err := http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(data), len(data)))
	if err != nil || req.Method != http.MethodGet || req.ProtoMajor != 1 || req.ProtoMinor != 1 ||
		req.Host == "" || req.ContentLength != 0 || len(req.TransferEncoding) > 0 || req.Header.Get("Expect") != "" {
		return parking.Outcome{HandOff: true}
	}
	req.RemoteAddr = c.RemoteAddr().String()
	req = req.WithContext(context.WithValue(context.Background(), connKey{}, c))
	w := &nativeWriter{conn: c, header: make(http.Header, 8)}
	n.Handler.ServeHTTP(w, req)
	if w.hijacked {
		return parking.Outcome{Parked: true}
	}
	return parking.Outcome{Resp: w.response(req), Close: req.Close || w.header.Get("Connection") == "close"}
}

// nativeWriter collects a response for Native.
type nativeWriter struct {
	conn     net.Conn
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *nativeWriter) Header() http.Header { return w.header }

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
	return w.conn, bufio.NewReadWriter(bufio.NewReaderSize(bytes.NewReader(nil), 16), nil), nil
}

// response is the whole HTTP/1.1 response, as net/http would write it.
func (w *nativeWriter) response(req *http.Request) []byte {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	h := w.header
	if h.Get("Content-Length") == "" && w.status != http.StatusNoContent && w.status != http.StatusNotModified {
		h.Set("Content-Length", strconv.Itoa(w.body.Len()))
	}
	if h.Get("Date") == "" {
		h.Set("Date", currentDates().date)
	}
	if h.Get("Content-Type") == "" && w.body.Len() > 0 {
		h.Set("Content-Type", http.DetectContentType(w.body.Bytes()))
	}
	if req.Close {
		h.Set("Connection", "close")
	}
	var b bytes.Buffer
	b.Grow(w.body.Len() + 400)
	b.WriteString("HTTP/1.1 ")
	b.WriteString(strconv.Itoa(w.status))
	b.WriteByte(' ')
	b.WriteString(http.StatusText(w.status))
	b.WriteString("\r\n")
	_ = h.Write(&b)
	b.WriteString("\r\n")
	if req.Method != http.MethodHead {
		b.Write(w.body.Bytes())
	}
	return b.Bytes()
}
