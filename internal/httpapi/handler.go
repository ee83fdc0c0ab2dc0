package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
	"github.com/simple-comet/simple-comet/internal/parking"
)

// Asset is an embedded file served as is (the JS client, demo and status
// pages).
type Asset struct {
	ContentType  string
	Body         []byte
	CacheControl string // "" means no-cache
	Protected    bool   // needs the secret when one is set
	AnyOrigin    bool   // sends Access-Control-Allow-Origin: * (a module imported from another origin)
}

// Observer is told what the API did, for metrics. Methods must be cheap and
// safe for concurrent use.
type Observer interface {
	// Request is called once per request, after it was answered.
	Request(res string, status int, d time.Duration)
	// Published is called after a message was stored.
	Published()
	// Answered is called when a read is answered; messages counts the
	// messages delivered in it.
	Answered(reason comet.WakeReason, messages int)
}

type nopObserver struct{}

func (nopObserver) Request(string, int, time.Duration) {}
func (nopObserver) Published()                         {}
func (nopObserver) Answered(comet.WakeReason, int)     {}

// Options configure the API.
type Options struct {
	QuoteJSON          bool
	EnableStatus       bool
	Secret             string
	MaxBodyBytes       int64
	MaxChannelsPerRead int
	MaxMessagesLimit   int
	MaxNameBytes       int           // channel names; 0 or over comet.MaxNameBytes: comet.MaxNameBytes
	RequestTimeout     time.Duration // to send a body
	NodeID             string
	Version            string
	Started            time.Time
	Assets             map[string]Asset // by exact path
	Metrics            http.Handler     // served at /metrics when not nil
	Observer           Observer
	// Lot, when set, parks the connections of held polls (no goroutine
	// each); their listeners must come from the Lot (ListenNative).
	Lot    *parking.Lot
	Logger *slog.Logger
	// AccessLog, when set, is told of every request once it is answered
	// (or parked).
	AccessLog *AccessLog
}

// Handler answers every request of the API. It is an http.Handler.
type Handler struct {
	svc    *comet.Service
	opts   Options
	secret [32]byte
	obs    Observer
	log    *slog.Logger
	shared sharedAnswers // the encodings that parked reads share
}

// New returns the API handler over svc.
func New(svc *comet.Service, opts Options) *Handler {
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
	if opts.MaxNameBytes <= 0 || opts.MaxNameBytes > comet.MaxNameBytes {
		opts.MaxNameBytes = comet.MaxNameBytes
	}
	if opts.Started.IsZero() {
		opts.Started = time.Now()
	}
	h := &Handler{svc: svc, opts: opts, obs: opts.Observer, log: opts.Logger}
	h.secret = sha256.Sum256([]byte(opts.Secret))
	return h
}

// ServeHTTP routes a request. Paths are taken as sent: no cleaning and no
// redirects.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := statusWriters.Get().(*statusWriter)
	*sw = statusWriter{ResponseWriter: w, start: time.Now()}
	res := h.serve(sw, r)
	h.answered(r, res, sw)
	*sw = statusWriter{}
	statusWriters.Put(sw)
}

// answered reports a request answered (or parked) through sw.
func (h *Handler) answered(r *http.Request, res resource, sw *statusWriter) {
	h.finished(r, res, sw.status(), sw.bytes, sw.parked, sw.start)
}

// finished reports a request answered with status and a body of n bytes,
// or parked (then it is answered later, with 200, and reports that
// itself to the Observer).
func (h *Handler) finished(r *http.Request, res resource, status, n int, parked bool, start time.Time) {
	if _, nop := h.obs.(nopObserver); nop && h.opts.AccessLog == nil {
		return // nobody to tell: not even the clock is read
	}
	d := time.Since(start)
	if !parked {
		h.obs.Request(res.String(), status, d)
	}
	if h.opts.AccessLog != nil {
		if parked {
			status = http.StatusOK
		}
		h.opts.AccessLog.add(r, status, n, parked, d)
	}
}

// statusWriters are reused: nothing keeps a request's writer once its
// handler has returned.
var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

func (h *Handler) serve(w *statusWriter, r *http.Request) resource {
	path := r.URL.Path
	if a, ok := h.opts.Assets[path]; ok {
		h.serveAsset(w, r, a)
		return resAsset
	}
	switch path {
	case "/health":
		if !h.getOrHead(w, r) {
			return resHealth
		}
		h.health(w, r)
		return resHealth
	case "/metrics":
		if h.opts.Metrics != nil {
			if !h.getOrHead(w, r) {
				return resMetrics
			}
			h.serveMetrics(w, r, h.opts.Metrics)
			return resMetrics
		}
	}
	rt, ok := parseAPIPath(path)
	if !ok || (rt.res == resStatus && !h.opts.EnableStatus) {
		(&reply{quote: h.opts.QuoteJSON}).failStatus(w, http.StatusNotFound, errUnknownResource)
		return resNone
	}
	o := &reply{format: rt.format, quote: h.opts.QuoteJSON, read: rt.res == resChannel && r.Method == http.MethodGet}
	if rt.format == formatUnknown {
		o.format = formatJSON
		o.fail(w, errUnknownFormat)
		return rt.res
	}
	if rt.format == formatJSONP {
		cb := "_JSONP_comet_cb"
		if v, ok := lookupQuery(r.URL.RawQuery, "cb"); ok {
			cb = v
		}
		if !validCallback(cb) {
			invalidCallback(w)
			return rt.res
		}
		o.callback = cb
	}
	// A wrong method is -1 (405), and -4 comes before -1: on a resource
	// that needs the secret for every method it takes, a request without
	// it is answered -4 whatever its method. A channel's reads are open,
	// so there the method decides first.
	wrongMethod := !rt.res.allows(r.Method)
	if wrongMethod && (h.opts.Secret == "" || rt.res == resChannel) {
		w.Header().Set("Allow", rt.res.allow())
		o.failStatus(w, http.StatusMethodNotAllowed, errMethod)
		return rt.res
	}
	p, err := readParams(w, r, h.opts.MaxBodyBytes, h.opts.RequestTimeout)
	if err != nil {
		// What is left of the body must not be waited for nor read as the
		// next request.
		w.Header().Set("Connection", "close")
	}
	if err == errRequestTimeout {
		// Never answered as if it were complete: 408, then closed.
		requestTimedOut(w)
		return rt.res
	}
	if err == errBodyTooLarge {
		o.failStatus(w, http.StatusRequestEntityTooLarge, errBodyTooLarge)
		return rt.res
	}
	if h.opts.Secret != "" && h.protected(rt, r.Method) && !h.authorized(r, p) {
		o.fail(w, errForbidden)
		return rt.res
	}
	if wrongMethod {
		w.Header().Set("Allow", rt.res.allow())
		o.failStatus(w, http.StatusMethodNotAllowed, errMethod)
		return rt.res
	}
	if err != nil {
		o.fail(w, err)
		return rt.res
	}
	switch {
	case rt.res == resChannels:
		h.registerChannel(w, r, o, p)
	case rt.res == resChannel && r.Method == http.MethodGet:
		h.read(w, r, o, rt.name, p)
	case rt.res == resChannel && r.Method == http.MethodPost:
		h.publish(w, r, o, rt.name, p)
	case rt.res == resChannel && r.Method == http.MethodDelete:
		h.deleteChannel(w, r, o, rt.name)
	case rt.res == resClients:
		h.registerClient(w, r, o, p)
	case rt.res == resClient:
		h.deleteClient(w, r, o, rt.name)
	case rt.res == resStatus:
		h.status(w, r, o)
	}
	return rt.res
}

// protected reports whether a request needs the secret when one is set:
// all but reads, and reads of the server's reserved channels.
func (h *Handler) protected(rt route, method string) bool {
	if rt.res != resChannel || method != http.MethodGet {
		return true
	}
	return protectedRead(splitChannels(rt.name))
}

// protectedRead reports whether a read of names needs the secret when one
// is set: whether one of them is a reserved channel.
func protectedRead(names []string) bool {
	for _, c := range names {
		if comet.Reserved(c) {
			return true
		}
	}
	return false
}

// authorized compares the secret given as "Authorization: Bearer X" or as
// the secret parameter, in constant time.
func (h *Handler) authorized(r *http.Request, p *params) bool {
	given, ok := "", false
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		given, ok = strings.TrimSpace(a[7:]), true
	} else {
		given, ok = p.get("secret")
	}
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(sum[:], h.secret[:]) == 1
}

// Authorized reports whether r carries the secret (always true without
// one); the status page handler uses it.
func (h *Handler) Authorized(r *http.Request) bool {
	return h.opts.Secret == "" || h.authorized(r, &params{query: r.URL.RawQuery})
}

// ServeMetrics serves metrics at /metrics on its own address
// (--metrics-addr), answering a request without the secret as the API
// address does.
func (h *Handler) ServeMetrics(metrics http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			(&reply{quote: h.opts.QuoteJSON}).failStatus(w, http.StatusNotFound, errUnknownResource)
			return
		}
		if h.getOrHead(w, r) {
			h.serveMetrics(w, r, metrics)
		}
	})
}

// serveMetrics answers a GET or HEAD of /metrics: with -4 (as every API
// reply, HTTP 200) without the secret when one is set.
func (h *Handler) serveMetrics(w http.ResponseWriter, r *http.Request, metrics http.Handler) {
	if !h.Authorized(r) {
		(&reply{format: formatJSON, quote: h.opts.QuoteJSON}).fail(w, errForbidden)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	metrics.ServeHTTP(w, r)
}

// getOrHead answers 405 to any other method of a non-API resource.
func (h *Handler) getOrHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	(&reply{quote: h.opts.QuoteJSON}).failStatus(w, http.StatusMethodNotAllowed, errMethod)
	return false
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, a Asset) {
	if !h.getOrHead(w, r) {
		return
	}
	if a.Protected && !h.Authorized(r) {
		(&reply{format: formatJSON, quote: h.opts.QuoteJSON}).fail(w, errForbidden)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ContentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	if a.AnyOrigin {
		hd.Set("Access-Control-Allow-Origin", "*")
	}
	if a.CacheControl != "" {
		hd.Set("Cache-Control", a.CacheControl)
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(a.Body)))
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	o := &reply{format: formatJSON, quote: h.opts.QuoteJSON} // every JSON body is quoted
	if err := h.svc.Engine.Ping(ctx); err != nil {
		o.sendStatus(w, http.StatusServiceUnavailable, []byte(`{"ok":false}`))
		return
	}
	o.sendStatus(w, http.StatusOK, []byte(`{"ok":true}`))
}

// statusWriter remembers the status written, for metrics and access logs.
type statusWriter struct {
	http.ResponseWriter
	start  time.Time // when the request began
	code   int
	bytes  int
	parked bool
}

// requestStart is when the request answered through w began (now when w
// is not the handler's own).
func requestStart(w http.ResponseWriter) time.Time {
	if sw, ok := w.(*statusWriter); ok && !sw.start.IsZero() {
		return sw.start
	}
	return time.Now()
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) status() int {
	if s.code == 0 {
		return 499 // nothing written: the client left
	}
	return s.code
}
