package h1

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Field is one header line of a response.
type Field struct{ Name, Value string }

// AppendResponse appends a whole HTTP/1.1 response to b: the status line,
// the header fields, and body. fixed and extra are each sorted by name
// (fixed: a reply kind's set, the same for every reply of that kind;
// extra: the few that vary per reply). Content-Length (len(body)) and
// Date are added here, so the head is what net/http writes for the same
// fields: every field in sorted order.
func AppendResponse(b []byte, status int, fixed, extra []Field, body []byte) []byte {
	b = AppendHead(b, status, fixed, extra, int64(len(body)))
	return append(b, body...)
}

// AppendHead appends the head of a response (the status line and the
// fields, then the blank line) whose body is length bytes long; length
// below 0 writes no Content-Length (one of fixed or extra may have it, or
// the status has no body). A Date is added unless one is given.
func AppendHead(b []byte, status int, fixed, extra []Field, length int64) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\n"...)
	// The two fields added here join the given ones in sorted order
	// (Content-Length, then Date), each unless given: a given field wins
	// a tie, so it is written first.
	own := ownFields[:]
	if length < 0 {
		own = own[1:]
	}
	i, j, k, last := 0, 0, 0, ""
	for i < len(fixed) || j < len(extra) || k < len(own) {
		switch {
		case i < len(fixed) && (j >= len(extra) || fixed[i].Name <= extra[j].Name) && (k >= len(own) || fixed[i].Name <= own[k]):
			b, last = appendField(b, fixed[i]), fixed[i].Name
			i++
		case j < len(extra) && (k >= len(own) || extra[j].Name <= own[k]):
			b, last = appendField(b, extra[j]), extra[j].Name
			j++
		default:
			name := own[k]
			k++
			if name == last {
				continue // given
			}
			b = append(b, name...)
			b = append(b, ": "...)
			if name == "Date" {
				b = append(b, Now().Date...)
			} else {
				b = strconv.AppendInt(b, length, 10)
			}
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

// appendField writes one header line, its value as net/http writes it (no
// line breaks, no surrounding space).
func appendField(b []byte, f Field) []byte {
	v := f.Value
	if strings.IndexByte(v, '\r') >= 0 || strings.IndexByte(v, '\n') >= 0 {
		v = headerNewlines.Replace(v)
	}
	b = append(b, f.Name...)
	b = append(b, ": "...)
	b = append(b, strings.TrimSpace(v)...)
	return append(b, "\r\n"...)
}

// ownFields are the fields AppendHead adds, in sorted order.
var ownFields = [2]string{"Content-Length", "Date"}

var headerNewlines = strings.NewReplacer("\n", " ", "\r", " ")

// Dates are the Date header value of one second and the one of the next
// second (for an Expires one second ahead), formatted once per second
// rather than once per reply.
type Dates struct {
	sec        int64
	Date, Next string
}

var datesNow atomic.Pointer[Dates]

// Now is this second's Dates.
func Now() *Dates {
	now := time.Now()
	if d := datesNow.Load(); d != nil && d.sec == now.Unix() {
		return d
	}
	u := now.UTC()
	d := &Dates{sec: now.Unix(), Date: u.Format(http.TimeFormat), Next: u.Add(time.Second).Format(http.TimeFormat)}
	datesNow.Store(d)
	return d
}
