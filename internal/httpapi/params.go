package httpapi

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// params are a request's parameters: the query string and, for bodies of
// form types, the body; the body wins, and within one source the first
// value of a repeated name counts.
type params struct {
	query   string     // raw, looked up by lookupQuery
	body    url.Values // a multipart body's values
	rawBody string     // an url-encoded body, looked up by lookupQuery
}

func (p *params) get(name string) (string, bool) {
	if v, ok := p.body[name]; ok && len(v) > 0 {
		return v[0], true
	}
	if v, ok := lookupQuery(p.rawBody, name); ok {
		return v, true
	}
	return lookupQuery(p.query, name)
}

// queryUnescape is url.QueryUnescape (+ is a space, %XY a byte; ok false
// for a bad escape) with one allocation, the result's.
func queryUnescape(s string) (string, bool) {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			n -= 2
			i += 2
		}
	}
	b := make([]byte, 0, n)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), true // b is not touched again
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// maxQueryParams is url.ParseQuery's limit on the pairs of a query.
const maxQueryParams = 10000

// lookupQuery is the first value of name in the raw query string, as
// url.ParseQuery(raw)[name][0] would be, without building the map: pairs
// with a semicolon or a bad escape are skipped, + is a space.
func lookupQuery(raw, name string) (string, bool) {
	if strings.Count(raw, "&") >= maxQueryParams {
		return "", false // url.ParseQuery parses nothing then
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if strings.IndexByte(k, '%') >= 0 || strings.IndexByte(k, '+') >= 0 {
			uk, ok := queryUnescape(k)
			if !ok {
				continue
			}
			k = uk
		}
		if k != name {
			continue
		}
		if strings.IndexByte(v, '%') >= 0 || strings.IndexByte(v, '+') >= 0 {
			uv, ok := queryUnescape(v)
			if !ok {
				continue
			}
			v = uv
		}
		return v, true
	}
	return "", false
}

// readParams parses the query and, for POST and DELETE, a form body of at
// most limit bytes. Any body, of any method and type, must arrive within
// timeout and is bounded by limit: a body over it is errBodyTooLarge (413),
// one that does not arrive within timeout is errRequestTimeout (408), one
// that is cut short or malformed is errBadBody. After such an error the
// read deadline is left in place, so that nothing more is waited for on
// the connection, and the caller closes it.
func readParams(w http.ResponseWriter, r *http.Request, limit int64, timeout time.Duration) (*params, *apiError) {
	p := &params{query: r.URL.RawQuery}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return p, nil
	}
	if r.ContentLength > limit {
		return p, errBodyTooLarge
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(timeout))
	body, raw, err := readBody(w, r, limit)
	if err != nil {
		return p, err
	}
	p.rawBody = raw
	_ = rc.SetReadDeadline(time.Time{})
	p.body = body
	return p, nil
}

// readBody reads a form body of POST and DELETE and discards every other.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) (url.Values, string, *apiError) {
	ctv := r.Header.Get("Content-Type")
	var ct string
	var ctParams map[string]string
	if strings.EqualFold(ctv, "application/x-www-form-urlencoded") {
		ct = "application/x-www-form-urlencoded" // what nearly every publisher sends
	} else {
		ct, ctParams, _ = mime.ParseMediaType(ctv)
	}
	form := ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data"
	if !form || (r.Method != http.MethodPost && r.Method != http.MethodDelete) {
		// Nothing to parse, but the limit and the deadline still hold.
		n, err := io.Copy(io.Discard, io.LimitReader(r.Body, limit+1))
		if n > limit {
			return nil, "", errBodyTooLarge
		}
		if err != nil {
			return nil, "", bodyError(err)
		}
		return nil, "", nil
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	if ct == "multipart/form-data" {
		if ctParams["boundary"] == "" {
			return nil, "", errBadBody
		}
		mr := r
		mr.Body = body
		if err := mr.ParseMultipartForm(limit); err != nil {
			return nil, "", bodyError(err)
		}
		if mr.MultipartForm == nil {
			return nil, "", nil
		}
		_ = mr.MultipartForm.RemoveAll()
		return mr.MultipartForm.Value, "", nil
	}
	size := int64(512)
	if r.ContentLength >= 0 && r.ContentLength <= limit {
		size = r.ContentLength
	}
	data, err := readAllSized(body, size)
	if err != nil {
		return nil, "", bodyError(err)
	}
	return nil, string(data), nil
}

// readAllSized is io.ReadAll starting with room for size bytes (and one
// more, so that the end is seen without growing).
func readAllSized(r io.Reader, size int64) ([]byte, error) {
	b := make([]byte, 0, size+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// bodyError is the reply to a body that could not be read whole: over
// the limit, not there in time, or malformed.
func bodyError(err error) *apiError {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe) || errors.Is(err, multipart.ErrMessageTooLarge):
		return errBodyTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return errRequestTimeout
	}
	return errBadBody
}

// parseSince reads a since parameter: ASCII digits only, within int64
// (leading zeros allowed); anything else is 0.
func parseSince(s string) int64 {
	if !digits(s) {
		return 0
	}
	v, err := strconv.ParseInt(trimZeros(s), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// digits reports whether s is one or more ASCII digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// trimZeros drops leading zeros (keeping one digit), so that a padded
// number within range is not taken for an overflow.
func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
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
	if !digits(s) {
		return 0, false
	}
	v, err := strconv.Atoi(trimZeros(s))
	if err != nil || v < 1 || v > hi {
		return 0, false
	}
	return v, true
}

func validUTF8(s string) bool { return utf8.ValidString(s) }
