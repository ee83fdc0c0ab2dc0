package httpapi

import (
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Besides what JSON requires it
// escapes <, > and & (safe inside a <script>), U+2028 and U+2029 (always: a
// JSON-P body is JavaScript), and '/' when slash is set (--quote-json: no
// content can close the /* */ comment). Invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string, slash bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' && (c != '/' || !slash) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\', '/':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// object builds one JSON object in order. Fields are appended as given.
// It is a value, each method returning the object grown: a builder over a
// caller's buffer on the stack stays there.
type object struct {
	b     []byte
	slash bool
	n     int
}

func newObject(slash bool) object { return objectIn(make([]byte, 0, 256), slash) }

// objectIn starts an object at the end of b.
func objectIn(b []byte, slash bool) object { return object{b: append(b, '{'), slash: slash} }

func (o object) key(k string) object {
	if o.n > 0 {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = appendString(o.b, k, o.slash)
	o.b = append(o.b, ':')
	return o
}

func (o object) str(k, v string) object {
	o = o.key(k)
	o.b = appendString(o.b, v, o.slash)
	return o
}

func (o object) int(k string, v int64) object {
	o = o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
	return o
}

func (o object) bool(k string, v bool) object {
	o = o.key(k)
	o.b = strconv.AppendBool(o.b, v)
	return o
}

func (o object) strs(k string, vs []string) object {
	o = o.key(k)
	o.b = append(o.b, '[')
	for i, v := range vs {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendString(o.b, v, o.slash)
	}
	o.b = append(o.b, ']')
	return o
}

// raw appends an already encoded value.
func (o object) raw(k string, v []byte) object {
	o = o.key(k)
	o.b = append(o.b, v...)
	return o
}

// done closes the object and returns its bytes.
func (o object) done() []byte { return append(o.b, '}') }
