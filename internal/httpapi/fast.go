package httpapi

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/simple-comet/simple-comet/internal/parking"
)

// The fast paths. Under Native, nearly every request a server sees is a
// subscriber's re-poll (GET /channels/NAME.json) or a publish (a POST of a
// form body to /channels/NAME.json). serveFast serves the ones that will
// succeed straight from the parsed request, without the handler's
// ResponseWriter, router and header maps: a read is begun and parked (or
// answered at once), a publish is stored and answered with bytes written
// here (the same bytes as the general path: FuzzFastPublish and
// FuzzFastRead compare them). Anything else, and any request that would
// fail before it reaches the engine, is left to the general path, which
// then does everything, so that errors are answered in one place only.

// fastServer is a handler that serves some requests whole from the parsed
// request and its body, without a ResponseWriter. ok false: nothing was
// done, serve the request the general way. parked: the read was parked on
// c (nothing to write now); else resp is the whole response.
type fastServer interface {
	serveFast(c net.Conn, r *http.Request, body []byte) (resp []byte, parked, ok bool)
}

var _ fastServer = (*Handler)(nil)

func (h *Handler) serveFast(c net.Conn, r *http.Request, body []byte) ([]byte, bool, bool) {
	if !strings.HasPrefix(r.URL.Path, "/channels/") {
		return nil, false, false
	}
	if _, ok := h.opts.Assets[r.URL.Path]; ok {
		return nil, false, false
	}
	rt, ok := parseAPIPath(r.URL.Path)
	if !ok || rt.res != resChannel || rt.format != formatJSON {
		return nil, false, false
	}
	switch r.Method {
	case http.MethodGet:
		return h.fastRead(c, r, rt.name)
	case http.MethodPost:
		resp, ok := h.fastPublish(r, rt.name, body)
		return resp, false, ok
	}
	return nil, false, false
}

// fastRead serves a read that needs no secret, with valid parameters, on
// a connection the Lot can park.
func (h *Handler) fastRead(c net.Conn, r *http.Request, list string) ([]byte, bool, bool) {
	if h.opts.Lot == nil || r.ContentLength != 0 || !parking.Parkable(c) {
		return nil, false, false
	}
	p := params{query: r.URL.RawQuery}
	q, apiErr := h.readQuery(list, &p)
	if apiErr != nil {
		return nil, false, false
	}
	if h.opts.Secret != "" && anyReserved(q.Channels) {
		return nil, false, false // needs the secret: the general path checks it
	}
	start := time.Now()
	o := out{format: formatJSON, quote: h.opts.QuoteJSON, read: true}
	pr, res, reason, err := h.beginParked(r, &o, q, start)
	if pr == nil {
		return h.writeGeneral(r, start, func(w http.ResponseWriter) { h.answerRead(w, r, &o, res, reason, err) }), false, true
	}
	h.parkRead(pr, c, nil)
	return nil, true, true
}

// writeGeneral is the response that answer writes through the general
// path's writer, for a request of a channel.
func (h *Handler) writeGeneral(r *http.Request, start time.Time, answer func(w http.ResponseWriter)) []byte {
	w := writers.Get().(*nativeWriter)
	sw := statusWriter{ResponseWriter: w, start: start}
	answer(&sw)
	h.obs.Request(resChannel.String(), sw.status(), time.Since(start))
	resp := w.response(r)
	w.release()
	return resp
}

// fastPublish stores a publish of a form body that needs nothing else
// checked, and answers it.
func (h *Handler) fastPublish(r *http.Request, name string, body []byte) ([]byte, bool) {
	if r.Close || len(body) == 0 || int64(len(body)) > h.opts.MaxBodyBytes || h.userChannel(name) != nil {
		return nil, false
	}
	if ct := r.Header["Content-Type"]; len(ct) != 1 || !strings.EqualFold(ct[0], "application/x-www-form-urlencoded") {
		return nil, false
	}
	start := time.Now()
	p := params{query: r.URL.RawQuery, rawBody: string(body)}
	if h.opts.Secret != "" && !h.authorized(r, &p) {
		return nil, false
	}
	content, ok := p.get("content")
	if !ok || !validUTF8(content) {
		return nil, false
	}
	o := out{format: formatJSON, quote: h.opts.QuoteJSON}
	m, err := h.svc.Engine.Publish(engineContext(), name, content)
	if err != nil {
		// Not stored: answered by the general path's writer, without
		// publishing again.
		return h.writeGeneral(r, start, func(w http.ResponseWriter) { h.engineFailed(w, r, &o, err) }), true
	}
	h.obs.Published()
	var buf [256]byte
	reply := appendPublishReply(buf[:0], name, m.ID, m.TS, o.quote)
	h.obs.Request(resChannel.String(), http.StatusOK, time.Since(start))
	return appendPublished(make([]byte, 0, 160+len(reply)), reply), true
}

// appendPublishReply appends the body of a publish's reply: what
// o.body(finish(o.obj().str("channel_id", name).int("message_id", id).
// int("ts", ts), codeOK)) makes, without the object (JSON, quote-json when
// quote).
func appendPublishReply(b []byte, name string, id, ts int64, quote bool) []byte {
	if quote {
		b = append(b, "/*-secure-\n"...)
	}
	b = append(b, `{"channel_id":`...)
	b = appendString(b, name, quote)
	b = append(b, `,"message_id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"return_code":`...)
	b = strconv.AppendInt(b, codeOK, 10)
	b = append(b, `,"error_message":""}`...)
	if quote {
		b = append(b, "\n*/"...)
	}
	return b
}

// appendPublished appends the response to a stored publish, as
// nativeWriter.response writes the headers the general path sets (sorted).
func appendPublished(b, reply []byte) []byte {
	b = append(b, "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(reply)), 10)
	b = append(b, "\r\nContent-Type: application/json\r\nDate: "...)
	b = append(b, currentDates().date...)
	b = append(b, "\r\nX-Content-Type-Options: nosniff\r\n\r\n"...)
	return append(b, reply...)
}
