package httpapi

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// engineTimeout bounds one engine call made for a request. Mutations are not
// cut short by a client hanging up: a half-done publish helps no one.
const engineTimeout = 5 * time.Second

// engineCtxReuse is how long one shared engine context is handed out.
const engineCtxReuse = 50 * time.Millisecond

type sharedCtx struct {
	ctx    context.Context
	cancel context.CancelFunc // never called: the deadline ends it
	made   int64              // monotonic nanoseconds
}

var (
	engineCtx   atomic.Pointer[sharedCtx]
	clockOrigin = time.Now()
)

// sharedEngineContext is the context of one engine call made for a
// request: a deadline engineTimeout away (less at most engineCtxReuse),
// and no cancellation when the client hangs up. Calls share one context
// while it is fresh rather than arming a timer each: the engine reads
// only its deadline.
func sharedEngineContext() context.Context { return sharedEngineContextAt(time.Now()) }

// sharedEngineContextAt is sharedEngineContext for a call made at t (a
// clock reading the caller has already taken).
func sharedEngineContextAt(t time.Time) context.Context {
	now := int64(t.Sub(clockOrigin))
	if c := engineCtx.Load(); c != nil && now-c.made < int64(engineCtxReuse) {
		return c.ctx
	}
	// Left to expire on its own: its timer releases it engineTimeout later.
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	engineCtx.Store(&sharedCtx{ctx: ctx, cancel: cancel, made: now})
	return ctx
}

// engineFailed answers an engine error, logging the ones that are not the
// domain's known kinds.
func (h *Handler) engineFailed(w http.ResponseWriter, r *http.Request, o *reply, err error) {
	api, known := toAPI(err)
	// A full server is not news worth a line per refused request.
	if !known || (api.code == codeUnavailable && !errors.Is(err, comet.ErrCapacity) && !errors.Is(err, comet.ErrClosed)) {
		h.log.Warn("engine call failed", "path", r.URL.Path, "method", r.Method, "err", err)
	}
	o.fail(w, api)
}

// validChannel applies the name rules of PROTOCOL.md and the configured
// (possibly lower) length limit.
func (h *Handler) validChannel(name string) bool {
	return len(name) <= h.opts.MaxNameBytes && comet.ValidName(name)
}

// userChannel checks a channel name a user may act on (not a reserved one).
func (h *Handler) userChannel(name string) *apiError {
	if !h.validChannel(name) {
		return errInvalidChannel
	}
	if comet.Reserved(name) {
		return errReservedChannel
	}
	return nil
}

func (h *Handler) registerChannel(w http.ResponseWriter, r *http.Request, o *reply, p *params) {
	name, ok := p.get("channel_id")
	if !ok || name == "" {
		o.fail(w, errMissingChannelID)
		return
	}
	if e := h.userChannel(name); e != nil {
		o.fail(w, e)
		return
	}
	us, _ := p.get("use_sessions")
	useSessions, ok := parseBool(us)
	if !ok {
		o.fail(w, errUseSessions)
		return
	}
	opts := comet.ChannelOptions{UseSessions: useSessions}
	if mm, given := p.get("max_messages"); given && mm != "" {
		n, ok := parseCount(mm, h.opts.MaxMessagesLimit)
		if !ok {
			o.fail(w, errMaxMessages)
			return
		}
		opts.MaxMessages = n
	}
	ctx := sharedEngineContext()
	if err := h.svc.Engine.RegisterChannel(ctx, name, opts); err != nil {
		h.engineFailed(w, r, o, err)
		return
	}
	o.send(w, codeOK, finish(o.obj().str("channel_id", name), codeOK))
}

func (h *Handler) publish(w http.ResponseWriter, r *http.Request, o *reply, name string, p *params) {
	if e := h.userChannel(name); e != nil {
		o.fail(w, e)
		return
	}
	content, ok := p.get("content")
	if !ok {
		o.fail(w, errMissingContent)
		return
	}
	if !validUTF8(content) {
		o.fail(w, errInvalidContent)
		return
	}
	ctx := sharedEngineContext()
	m, err := h.svc.Engine.Publish(ctx, name, content)
	if err != nil {
		h.engineFailed(w, r, o, err)
		return
	}
	h.obs.Published()
	o.send(w, codeOK, publishReply(o.obj(), name, m))
}

func (h *Handler) deleteChannel(w http.ResponseWriter, r *http.Request, o *reply, name string) {
	if e := h.userChannel(name); e != nil {
		o.fail(w, e)
		return
	}
	removed, err := h.svc.Engine.DeleteChannel(sharedEngineContext(), name)
	h.answerRemoved(w, r, o, "channel_id", name, removed, err)
}

func (h *Handler) registerClient(w http.ResponseWriter, r *http.Request, o *reply, p *params) {
	id, ok := p.get("client_id")
	if !ok || id == "" {
		o.fail(w, errMissingClientID)
		return
	}
	if !comet.ValidName(id) {
		o.fail(w, errInvalidClientID)
		return
	}
	ctx := sharedEngineContext()
	if err := h.svc.Engine.RegisterClient(ctx, id); err != nil {
		h.engineFailed(w, r, o, err)
		return
	}
	o.send(w, codeOK, finish(o.obj().str("client_id", id), codeOK))
}

func (h *Handler) deleteClient(w http.ResponseWriter, r *http.Request, o *reply, id string) {
	if !comet.ValidName(id) {
		o.fail(w, errInvalidClientID)
		return
	}
	removed, err := h.svc.Engine.DeleteClient(sharedEngineContext(), id)
	h.answerRemoved(w, r, o, "client_id", id, removed, err)
}

// answerRemoved answers a deletion of the channel or client named name
// (key says which): return code 2 when it existed, 1 when it did not.
func (h *Handler) answerRemoved(w http.ResponseWriter, r *http.Request, o *reply, key, name string, removed bool, err error) {
	if err != nil {
		h.engineFailed(w, r, o, err)
		return
	}
	code := codeOK
	if removed {
		code = codeRemoved
	}
	o.send(w, code, finish(o.obj().str(key, name).bool("removed", removed), code))
}

// statusListLimit caps the channel and client lists of /status.json.
const statusListLimit = 1000

func (h *Handler) status(w http.ResponseWriter, r *http.Request, o *reply) {
	ctx, cancel := context.WithTimeout(r.Context(), engineTimeout)
	defer cancel()
	st, err := h.svc.Engine.Status(ctx, statusListLimit)
	if err != nil {
		h.engineFailed(w, r, o, err)
		return
	}
	// Held: the polls that wait, their first read taken (Timing), not
	// those still taking it, so that a client that sees a poll counted
	// knows its view was taken.
	held := int64(h.svc.Timing())
	uptime := int64(time.Since(h.opts.Started).Seconds())
	in := o.obj().
		strs("channels", nonNil(st.Channels)).
		strs("clients", nonNil(st.Clients)).
		int("held_connections_count", held).
		int("channels_count", int64(st.ChannelsCount)).
		int("clients_count", int64(st.ClientsCount)).
		str("node", h.opts.NodeID).
		int("uptime_seconds", uptime).
		int("messages_published", st.MessagesPublished).
		str("engine", h.svc.Engine.Name()).
		str("version", h.opts.Version).
		int("goroutines", int64(runtime.NumGoroutine())).
		done()
	top := o.obj().raw("status", in).
		int("channels_count", int64(st.ChannelsCount)).
		int("clients_count", int64(st.ClientsCount)).
		int("held_connections_count", held).
		str("node", h.opts.NodeID).
		int("uptime_seconds", uptime).
		int("messages_published", st.MessagesPublished).
		str("engine", h.svc.Engine.Name()).
		str("version", h.opts.Version)
	o.send(w, codeOK, finish(top, codeOK))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
