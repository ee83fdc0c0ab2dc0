package httpapi

import (
	"bytes"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fuzzBodyLimit keeps multipart parts in memory: nothing is written to disk.
const fuzzBodyLimit = 4096

// bodySeeds are request bodies with the content type they were sent with.
var bodySeeds = []struct {
	method, contentType, query string
	body                       string
}{
	{"POST", "application/x-www-form-urlencoded", "", "content=hello"},
	{"POST", "application/x-www-form-urlencoded; charset=UTF-8", "content=q", "content=b"},
	{"POST", "application/x-www-form-urlencoded", "", "content=1&content=2"},
	{"POST", "application/x-www-form-urlencoded", "", "content=%ff%fe&x=%zz;y=1"},
	{"POST", "application/x-www-form-urlencoded", "", "channel_id=a&use_sessions=yes&max_messages=10"},
	{"POST", "application/x-www-form-urlencoded", "", strings.Repeat("a", fuzzBodyLimit+1)},
	{"POST", "multipart/form-data; boundary=XX", "", "--XX\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\nhi\r\n--XX--\r\n"},
	{"POST", "multipart/form-data; boundary=XX", "", "--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\nfile\r\n--XX--\r\n"},
	{"POST", "multipart/form-data", "", "--XX--"},
	{"POST", "multipart/form-data; boundary=XX", "", "garbage"},
	{"POST", "text/plain", "content=q", "content=b"},
	{"POST", "", "", ""},
	{"POST", "application/json", "", `{"content":"x"}`},
	{"DELETE", "application/x-www-form-urlencoded", "secret=s", "secret=t"},
	{"GET", "application/x-www-form-urlencoded", "since=5", "since=6"},
	{"PUT", "application/x-www-form-urlencoded", "", "content=x"},
	{"POST", "application/x-www-form-urlencoded;;", "", "content=x"},
}

// fuzzRequest builds the request readParams sees. chunked sends no length.
func fuzzRequest(method, contentType, query string, body []byte, chunked bool) *http.Request {
	r := &http.Request{
		Method: method, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		URL:    &url.URL{Path: "/channels/a.json", RawQuery: query},
		Header: http.Header{}, Host: "fuzz",
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
	}
	if chunked {
		r.ContentLength = -1
	}
	if len(body) == 0 && !chunked {
		r.Body = http.NoBody
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func FuzzReadParams(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add(s.method, s.contentType, s.query, []byte(s.body), false)
		f.Add(s.method, s.contentType, s.query, []byte(s.body), true)
	}
	f.Fuzz(func(t *testing.T, method, contentType, query string, body []byte, chunked bool) {
		r := fuzzRequest(method, contentType, query, body, chunked)
		p, err := readParams(httptest.NewRecorder(), r, fuzzBodyLimit, time.Second)
		if p == nil {
			t.Fatal("readParams: got nil params, want the query at least")
		}
		switch err {
		case nil, errBodyTooLarge, errBadBody:
		default:
			t.Fatalf("readParams: got error %v, want nil, errBodyTooLarge or errBadBody", err)
		}
		if len(body) > fuzzBodyLimit && err != errBodyTooLarge {
			t.Fatalf("readParams with a %d-byte body: got %v, want errBodyTooLarge", len(body), err)
		}
		if err == errBodyTooLarge && len(body) <= fuzzBodyLimit {
			t.Fatalf("readParams with a %d-byte body: got errBodyTooLarge, want it only over %d", len(body), fuzzBodyLimit)
		}
		// The query always counts, with the first of repeated values.
		q, _ := url.ParseQuery(query)
		for k, vs := range q {
			got, ok := p.get(k)
			if !ok {
				t.Fatalf("get(%q): got nothing, want a value", k)
			}
			if !p.inBody(k) && got != vs[0] {
				t.Fatalf("get(%q): got %q, want the first query value %q", k, got, vs[0])
			}
		}
		if (p.body != nil || p.rawBody != "") && method != http.MethodPost && method != http.MethodDelete {
			t.Fatalf("readParams(%s): got body parameters, want them only for POST and DELETE", method)
		}
	})
}

// FuzzFormRoundTrip encodes two values of one parameter as a urlencoded and
// as a multipart body: both must give back the first, and win over the query.
func FuzzFormRoundTrip(f *testing.F) {
	f.Add("content", "hello", "second", "fromquery")
	f.Add("content", "", "x", "")
	f.Add("a b", "é\u2028", "\x00", "q")
	f.Add("k", "\xff", "&=", "%")
	f.Fuzz(func(t *testing.T, key, first, second, query string) {
		if key == "" {
			return
		}
		form := url.Values{key: {first, second}}.Encode()
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		for _, v := range []string{first, second} {
			if err := mw.WriteField(key, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		cases := []struct{ ct, body string }{{"application/x-www-form-urlencoded", form}}
		if plainName(key) {
			// mime/multipart writes other names in headers it cannot read back.
			cases = append(cases, struct{ ct, body string }{mw.FormDataContentType(), mp.String()})
		}
		for _, c := range cases {
			q := url.Values{key: {query}}.Encode()
			r := fuzzRequest(http.MethodPost, c.ct, q, []byte(c.body), false)
			p, err := readParams(httptest.NewRecorder(), r, 1<<20, time.Second)
			if err != nil {
				t.Fatalf("readParams(%s): got %v, want no error", c.ct, err)
			}
			got, ok := p.get(key)
			if !ok || got != first {
				t.Fatalf("readParams(%s) get(%q): got %q %v, want %q (the first body value)", c.ct, key, got, ok, first)
			}
		}
	})
}

// numberSeeds are since and max_messages values.
var numberSeeds = []string{
	"", "0", "1", "42", "-1", "+1", " 1", "1 ", "1e3", "0x10", "abc", "١٢",
	"9223372036854775807", "9223372036854775808", "99999999999999999999",
	"00000000000000000000007", "000", "1000000000000", "10000", "10001", "4294967296",
}

// bigDigits is the oracle: the value of an all-digits string, or nil.
func bigDigits(s string) *big.Int {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return nil
	}
	v, _ := new(big.Int).SetString(s, 10)
	return v
}

func FuzzParseSince(f *testing.F) {
	for _, s := range numberSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := parseSince(s)
		want := int64(0)
		if v := bigDigits(s); v != nil && v.IsInt64() {
			want = v.Int64()
		}
		if got != want {
			t.Fatalf("parseSince(%q): got %d, want %d", s, got, want)
		}
	})
}

func FuzzParseCount(f *testing.F) {
	for _, s := range numberSeeds {
		f.Add(s, 10000)
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, s string, hi int) {
		got, ok := parseCount(s, hi)
		want, wantOK := 0, false
		if v := bigDigits(s); v != nil && v.Sign() > 0 && v.Cmp(big.NewInt(int64(hi))) <= 0 {
			want, wantOK = int(v.Int64()), true
		}
		if got != want || ok != wantOK {
			t.Fatalf("parseCount(%q, %d): got %d %v, want %d %v", s, hi, got, ok, want, wantOK)
		}
	})
}

func FuzzParseBool(f *testing.F) {
	for _, s := range []string{"", "1", "0", "true", "false", "yes", "no", "on", "off", "TRUE", "Off", "2", "y", "t", " 1", "tru\u0130"} {
		f.Add(s)
	}
	truths := map[string]bool{"1": true, "true": true, "yes": true, "on": true}
	falsehoods := map[string]bool{"": true, "0": true, "false": true, "no": true, "off": true}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseBool(s)
		l := strings.ToLower(s)
		wantV, wantOK := truths[l], truths[l] || falsehoods[l]
		if v != wantV || ok != wantOK {
			t.Fatalf("parseBool(%q): got %v %v, want %v %v", s, v, ok, wantV, wantOK)
		}
	})
}

// plainName: printable ASCII without quotes or backslashes.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\' {
			return false
		}
	}
	return true
}

// inBody: the body gives name a value.
func (p *params) inBody(name string) bool {
	if v, ok := p.body[name]; ok && len(v) > 0 {
		return true
	}
	_, ok := lookupQuery(p.rawBody, name)
	return ok
}

// FuzzLookupQuery: lookupQuery agrees with url.ParseQuery.
func FuzzLookupQuery(f *testing.F) {
	for _, s := range []string{"since=1&last_id=2", "a=1&a=2", "a%=1&a=3", "a=%zz&a=4", "a;b=1&a=5", "+a=b+c&%20a=x", "&&a", "a"} {
		f.Add(s, "a")
	}
	f.Fuzz(func(t *testing.T, raw, name string) {
		got, ok := lookupQuery(raw, name)
		vals, _ := url.ParseQuery(raw)
		want, wok := "", false
		if v := vals[name]; len(v) > 0 {
			want, wok = v[0], true
		}
		if got != want || ok != wok {
			t.Fatalf("lookupQuery(%q, %q) = %q, %v; url.ParseQuery gives %q, %v", raw, name, got, ok, want, wok)
		}
	})
}

// FuzzQueryUnescape: queryUnescape agrees with url.QueryUnescape.
func FuzzQueryUnescape(f *testing.F) {
	for _, s := range []string{"", "a+b", "%41%4a%4A", "%", "%4", "%zz", "%%41", "caf%C3%A9+%2B", "%ff%00", "x%2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := queryUnescape(s)
		want, err := url.QueryUnescape(s)
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("queryUnescape(%q) = %q, %v; url.QueryUnescape gives %q, %v", s, got, ok, want, err)
		}
	})
}
