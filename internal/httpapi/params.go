package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// params are a request's parameters: the query string and, for bodies of
// form types, the body; the body wins, and within one source the first
// value of a repeated name counts.
type params struct {
	query url.Values
	body  url.Values
}

func (p *params) get(name string) (string, bool) {
	if v, ok := p.body[name]; ok && len(v) > 0 {
		return v[0], true
	}
	if v, ok := p.query[name]; ok && len(v) > 0 {
		return v[0], true
	}
	return "", false
}

// parseQuery keeps what parses: a malformed pair is skipped, as browsers and
// the original server do.
func parseQuery(raw string) url.Values {
	v, _ := url.ParseQuery(raw)
	return v
}

// readParams parses the query and, for POST and DELETE, a form body of at
// most limit bytes, read within timeout. A body over the limit is
// errBodyTooLarge (413).
func readParams(w http.ResponseWriter, r *http.Request, limit int64, timeout time.Duration) (*params, error) {
	p := &params{query: parseQuery(r.URL.RawQuery)}
	if r.Method != http.MethodPost && r.Method != http.MethodDelete {
		return p, nil
	}
	if r.ContentLength > limit {
		return p, errBodyTooLarge
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" && ct != "multipart/form-data" {
		// Not a form: nothing to parse, but the limit still holds.
		n, err := io.Copy(io.Discard, io.LimitReader(r.Body, limit+1))
		if n > limit {
			return p, errBodyTooLarge
		}
		if err != nil {
			return p, errBadBody
		}
		return p, nil
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(timeout))
	defer rc.SetReadDeadline(time.Time{})
	body := http.MaxBytesReader(w, r.Body, limit)
	if ct == "multipart/form-data" {
		if ctParams["boundary"] == "" {
			return p, errBadBody
		}
		mr := r
		mr.Body = body
		if err := mr.ParseMultipartForm(limit); err != nil {
			return p, bodyError(err)
		}
		if mr.MultipartForm != nil {
			p.body = mr.MultipartForm.Value
			_ = mr.MultipartForm.RemoveAll()
		}
		return p, nil
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return p, bodyError(err)
	}
	p.body = parseQuery(string(data))
	return p, nil
}

func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || strings.Contains(err.Error(), "too large") {
		return errBodyTooLarge
	}
	return errBadBody
}

// parseSince: ASCII digits only, within int64 (leading zeros allowed);
// anything else is 0.
func parseSince(s string) int64 {
	if s == "" {
		return 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// parseBool for use_sessions: true/false words, empty is false; ok is false
// for anything else.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, true
	case "", "0", "false", "no", "off":
		return false, true
	}
	return false, false
}

// parseCount parses a positive decimal of digits only, at most hi.
func parseCount(s string, hi int) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > hi {
		return 0, false
	}
	return v, true
}

func validUTF8(s string) bool { return utf8.ValidString(s) }
