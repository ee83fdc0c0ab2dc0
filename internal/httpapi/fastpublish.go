package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The publish fast path. Under Native, most requests a server sees besides
// re-polls are publishes: a POST of a form body to /channels/NAME.json.
// serveFast answers the ones that succeed straight from the parsed request
// and its body, and writes the response bytes itself (the same bytes the
// general path writes: FuzzFastPublish compares them). Anything else, and
// any request that would fail before its message is stored, is left to the
// general path, which then does everything, so that errors are answered
// in one place only.

// fastServer is a handler that answers some requests whole from the parsed
// request and its body, without a ResponseWriter. ok false: nothing was
// done, serve the request the general way.
type fastServer interface {
	serveFast(r *http.Request, body []byte) (resp []byte, ok bool)
}

var _ fastServer = (*Handler)(nil)

func (h *Handler) serveFast(r *http.Request, body []byte) ([]byte, bool) {
	if r.Method != http.MethodPost || r.Close || len(body) == 0 || int64(len(body)) > h.opts.MaxBodyBytes ||
		!strings.HasPrefix(r.URL.Path, "/channels/") {
		return nil, false
	}
	if ct := r.Header["Content-Type"]; len(ct) != 1 || !strings.EqualFold(ct[0], "application/x-www-form-urlencoded") {
		return nil, false
	}
	if _, ok := h.opts.Assets[r.URL.Path]; ok {
		return nil, false
	}
	rt, ok := parseAPIPath(r.URL.Path)
	if !ok || rt.res != resChannel || rt.format != formatJSON || h.userChannel(rt.name) != nil {
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
	m, err := h.svc.Engine.Publish(engineContext(), rt.name, content)
	if err != nil {
		// Not stored: answered by the general path's writer, without
		// publishing again.
		w := writers.Get().(*nativeWriter)
		sw := statusWriter{ResponseWriter: w, start: start}
		h.engineFailed(&sw, r, &o, err)
		h.obs.Request(resChannel.String(), sw.status(), time.Since(start))
		resp := w.response(r)
		w.release()
		return resp, true
	}
	h.obs.Published()
	var buf [256]byte
	reply := appendPublishReply(buf[:0], rt.name, m.ID, m.TS, o.quote)
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
