package httpapi

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/h1"
	"github.com/simple-comet/simple-comet/internal/parking"
)

// The fast paths. Under Native, nearly every request a server sees is a
// subscriber's re-poll (GET /channels/NAME.json) or a publish (a POST of a
// form body to /channels/NAME.json). serveFast serves the ones that will
// succeed straight from the parsed request, without the handler's
// ResponseWriter, router and header maps: a read is begun and parked (or
// answered at once), a publish is stored and answered with bytes written
// through the same reply table and h1 (the same bytes as the general path:
// FuzzFastPublish and FuzzFastRead compare them). Anything else, and any request that would
// fail before it reaches the engine, is left to the general path, which
// then does everything, so that errors are answered in one place only.

var _ h1.FastServer = (*Handler)(nil)

// ServeFast implements h1.FastServer. A resource whose answer may block
// (status, metrics, assets) is handed off: Native may run on an event
// loop, where nothing may wait.
func (h *Handler) ServeFast(c net.Conn, r *http.Request, body []byte) ([]byte, h1.Verdict) {
	if h.mayBlock(r.URL.Path) {
		return nil, h1.HandOff
	}
	// On an event loop with an engine that may wait (Redis), only a read
	// the engine answers from memory is served here; everything else is
	// served again on a worker.
	loop := !parking.MayBlock(c) && h.svc.EngineBlocks()
	general := h1.General
	if loop {
		general = h1.Offload
	}
	if !strings.HasPrefix(r.URL.Path, "/channels/") {
		return nil, general
	}
	rt, ok := parseAPIPath(r.URL.Path)
	if !ok || rt.res != resChannel || rt.format != formatJSON {
		return nil, general
	}
	switch {
	case r.Method == http.MethodGet:
		if resp, v := h.fastRead(c, r, rt.name, loop); v != h1.General {
			return resp, v
		}
	case r.Method == http.MethodPost && !loop:
		return h.fastPublish(c, r, rt.name, body)
	}
	return nil, general
}

// mayBlock reports whether answering path may wait for more than memory:
// the assets, /metrics and the status replies (a scan of every channel)
// and, with an access log, nothing more (its lines are written
// elsewhere).
func (h *Handler) mayBlock(path string) bool {
	if _, ok := h.opts.Assets[path]; ok {
		return true
	}
	switch path {
	case "/metrics":
		return h.opts.Metrics != nil
	case "/status.json", "/stats.json", "/status.jsonp", "/stats.jsonp":
		return h.opts.EnableStatus
	}
	return false
}

// fastRead serves a read that needs no secret, with valid parameters, on
// a connection the Lot can park.
// loop: on an event loop, where only what the engine answers without
// waiting may be read (Offload otherwise).
func (h *Handler) fastRead(c net.Conn, r *http.Request, list string, loop bool) ([]byte, h1.Verdict) {
	if h.opts.Lot == nil || r.ContentLength != 0 || !parking.Parkable(c) {
		return nil, h1.General
	}
	p := params{query: r.URL.RawQuery}
	q, apiErr := h.readQuery(list, &p)
	if apiErr != nil {
		return nil, h1.General
	}
	if h.opts.Secret != "" && protectedRead(q.Channels) {
		return nil, h1.General // needs the secret: the general path checks it
	}
	start := time.Now()
	o := reply{format: formatJSON, quote: h.opts.QuoteJSON, read: true}
	pr, res, reason, err := h.beginParked(r, &o, q, start, loop)
	if errors.Is(err, comet.ErrWouldBlock) {
		return nil, h1.Offload
	}
	if pr == nil {
		return h.writeGeneral(c, r, start, func(w http.ResponseWriter) { h.answerRead(w, r, &o, res, reason, err) }), h1.Served
	}
	h.parkRead(pr, c, nil)
	h.finished(r, resChannel, http.StatusOK, 0, true, start)
	return nil, h1.Parked
}

// writeGeneral is the response that answer writes through the general
// path's writer, for a request of a channel.
func (h *Handler) writeGeneral(c net.Conn, r *http.Request, start time.Time, answer func(w http.ResponseWriter)) []byte {
	return h1.Respond(c, r, func(w http.ResponseWriter) {
		sw := statusWriter{ResponseWriter: w, start: start}
		answer(&sw)
		h.answered(r, resChannel, &sw)
	})
}

// fastPublish stores a publish of a form body that needs nothing else
// checked, and answers it.
func (h *Handler) fastPublish(c net.Conn, r *http.Request, name string, body []byte) ([]byte, h1.Verdict) {
	if r.Close || len(body) == 0 || int64(len(body)) > h.opts.MaxBodyBytes || h.userChannel(name) != nil {
		return nil, h1.General
	}
	if ct := r.Header["Content-Type"]; len(ct) != 1 || !strings.EqualFold(ct[0], "application/x-www-form-urlencoded") {
		return nil, h1.General
	}
	start := time.Now()
	p := params{query: r.URL.RawQuery, rawBody: string(body)}
	if h.opts.Secret != "" && !h.authorized(r, &p) {
		return nil, h1.General
	}
	content, ok := p.get("content")
	if !ok || !validUTF8(content) {
		return nil, h1.General
	}
	o := reply{format: formatJSON, quote: h.opts.QuoteJSON}
	m, err := h.svc.Engine.Publish(sharedEngineContextAt(start), name, content)
	if err != nil {
		// Not stored: answered by the general path's writer, without
		// publishing again.
		return h.writeGeneral(c, r, start, func(w http.ResponseWriter) { h.engineFailed(w, r, &o, err) }), h1.Served
	}
	h.obs.Published()
	var buf [256]byte
	obj := o.body(publishReply(o.objIn(buf[:0]), name, m))
	resp := o.appendReply(make([]byte, 0, 200+len(obj)), http.StatusOK, obj, false, false)
	h.finished(r, resChannel, http.StatusOK, len(obj), false, start)
	return resp, h1.Served
}
