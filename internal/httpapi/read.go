package httpapi

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// read answers GET /channels/A|B.F: at once when there is something newer
// than since, otherwise after a hold (comet.Service does the holding).
func (h *Handler) read(w http.ResponseWriter, r *http.Request, o *reply, list string, p *params) {
	q, apiErr := h.readQuery(list, p)
	if apiErr != nil {
		o.fail(w, apiErr)
		return
	}
	if h.parkable(w, r) {
		h.readParked(w, r, o, q)
		return
	}
	res, reason, err := h.svc.Read(r.Context(), q)
	if reason == comet.WakeGone {
		h.obs.Answered(reason, 0)
		return // the client left: nothing is written
	}
	h.answerRead(w, r, o, res, reason, err)
}

// readQuery checks a read's channel list and parameters: the query to run,
// or the error to answer.
func (h *Handler) readQuery(list string, p *params) (comet.ReadQuery, *apiError) {
	names := splitChannels(list)
	if len(names) > h.opts.MaxChannelsPerRead && h.opts.MaxChannelsPerRead > 0 {
		return comet.ReadQuery{}, errTooManyChannels
	}
	for _, n := range names {
		if !h.validChannel(n) {
			return comet.ReadQuery{}, errInvalidChannel
		}
	}
	q := comet.ReadQuery{Channels: dedupe(names)}
	if id, ok := p.get("client_id"); ok {
		if id == "" || !comet.ValidName(id) {
			return comet.ReadQuery{}, errInvalidClientID
		}
		q.ClientID, q.HasClient = id, true
	}
	since, _ := p.get("since")
	q.Since = parseSince(since)
	return q, nil
}

// dedupe drops the repeats of names in place, keeping the first of each.
func dedupe(names []string) []string {
	if len(names) > 16 {
		seen := make(map[string]struct{}, len(names))
		out := names[:0]
		for _, n := range names {
			if _, dup := seen[n]; !dup {
				seen[n] = struct{}{}
				out = append(out, n)
			}
		}
		return out
	}
	out := names[:0]
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// answerRead writes a read's reply (or its error) through net/http.
func (h *Handler) answerRead(w http.ResponseWriter, r *http.Request, o *reply, res comet.ReadResult, reason comet.WakeReason, err error) {
	if err != nil {
		h.engineFailed(w, r, o, err)
		return
	}
	h.obs.Answered(reason, countMessages(&res))
	o.send(w, codeOK, encodeRead(o.quote && o.format != formatJSONP, &res))
}

// encodeRead encodes a read reply:
// {"since":S,"last_id":L,"messages":{"A":[{"content":..,"id":..,"ts":..}]},
// "truncated":[..],"return_code":1,"error_message":""}.
func encodeRead(slash bool, res *comet.ReadResult) []byte {
	size := 128
	for _, c := range res.Channels {
		size += len(c.Channel) + 8
		for _, m := range c.Messages {
			// 64: the fields around the content; len/4: room for escapes
			// (quotes of JSON-in-JSON content, and <, > and &, which become
			// 6 bytes), so the buffer rarely grows.
			size += len(m.Content) + len(m.Content)/4 + 64
		}
	}
	b := make([]byte, 0, size)
	b = append(b, `{"since":`...)
	b = strconv.AppendInt(b, res.Since, 10)
	b = append(b, `,"last_id":`...)
	b = strconv.AppendInt(b, res.LastID, 10)
	b = append(b, `,"messages":{`...)
	for i, c := range res.Channels {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c.Channel, slash)
		b = append(b, ":["...)
		for j, m := range c.Messages {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"content":`...)
			b = appendString(b, m.Content, slash)
			b = append(b, `,"id":`...)
			b = strconv.AppendInt(b, m.ID, 10)
			b = append(b, `,"ts":`...)
			b = strconv.AppendInt(b, m.TS, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	if len(res.Truncated) > 0 {
		b = append(b, `,"truncated":[`...)
		for i, c := range res.Truncated {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, c, slash)
		}
		b = append(b, ']')
	}
	return append(b, `,"return_code":1,"error_message":""}`...)
}
