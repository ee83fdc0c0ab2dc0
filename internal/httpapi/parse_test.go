package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// The tables are package-level so that fuzz targets can be seeded from them.

// ParseAPIPathCases: the path as percent-decoded, and what it names.
var parseAPIPathCases = []struct {
	name   string
	path   string
	ok     bool
	res    resource
	rname  string
	format format
}{
	{"register channel", "/channels.json", true, resChannels, "", formatJSON},
	{"register channel jsonp", "/channels.jsonp", true, resChannels, "", formatJSONP},
	{"register channel unknown format", "/channels.xml", true, resChannels, "", formatUnknown},
	{"register channel extra dot", "/channels.x.json", true, resChannels, ".x", formatUnknown},
	{"channel", "/channels/a.json", true, resChannel, "a", formatJSON},
	{"channel jsonp", "/channels/a.jsonp", true, resChannel, "a", formatJSONP},
	{"channel list", "/channels/a|b|c.json", true, resChannel, "a|b|c", formatJSON},
	{"channel with dots", "/channels/a.b.c.json", true, resChannel, "a.b.c", formatJSON},
	{"channel double slash kept", "/channels/a//b.json", true, resChannel, "a//b", formatJSON},
	{"channel dot dot kept", "/channels/../x.json", true, resChannel, "../x", formatJSON},
	{"channel empty name", "/channels/.json", true, resChannel, "", formatJSON},
	{"channel no suffix", "/channels/a", true, resChannel, "", formatUnknown},
	{"channel upper-case suffix", "/channels/a.JSON", true, resChannel, "a", formatUnknown},
	{"channel other suffix", "/channels/a.xml", true, resChannel, "a", formatUnknown},
	{"channel trailing dot", "/channels/a.", true, resChannel, "a", formatUnknown},
	{"register client", "/clients.json", true, resClients, "", formatJSON},
	{"client", "/clients/me.json", true, resClient, "me", formatJSON},
	{"client jsonp", "/clients/me.jsonp", true, resClient, "me", formatJSONP},
	{"status", "/status.json", true, resStatus, "", formatJSON},
	{"stats", "/stats.json", true, resStatus, "", formatJSON},
	{"stats jsonp", "/stats.jsonp", true, resStatus, "", formatJSONP},
	{"status extra", "/status.x.json", true, resStatus, ".x", formatUnknown},
	{"root", "/", false, resNone, "", formatUnknown},
	{"channels bare", "/channels", false, resNone, "", formatUnknown},
	{"channels prefix", "/channelsx.json", false, resNone, "", formatUnknown},
	{"double leading slash", "//channels/a.json", false, resNone, "", formatUnknown},
	{"other", "/favicon.ico", false, resNone, "", formatUnknown},
	{"status bare", "/status", false, resNone, "", formatUnknown},
}

func TestParseAPIPath(t *testing.T) {
	for _, c := range parseAPIPathCases {
		t.Run(c.name, func(t *testing.T) {
			rt, ok := parseAPIPath(c.path)
			if ok != c.ok {
				t.Fatalf("parseAPIPath(%q): got ok %v, want %v", c.path, ok, c.ok)
			}
			if !ok {
				return
			}
			if rt.res != c.res || rt.name != c.rname || rt.format != c.format {
				t.Fatalf("parseAPIPath(%q): got (%v, %q, %d), want (%v, %q, %d)", c.path, rt.res, rt.name, rt.format, c.res, c.rname, c.format)
			}
		})
	}
}

var validCallbackCases = []struct {
	name string
	cb   string
	want bool
}{
	{"default", "_JSONP_comet_cb", true},
	{"prefix only", "_JSONP_", true},
	{"dots", "_JSONP_a.b.c", true},
	{"dollar and digits", "_JSONP_$1_x9", true},
	{"64 bytes", "_JSONP_" + strings.Repeat("a", 57), true},
	{"65 bytes", "_JSONP_" + strings.Repeat("a", 58), false},
	{"empty", "", false},
	{"no prefix", "callback", false},
	{"lower-case prefix", "_jsonp_x", false},
	{"prefix not at start", "x_JSONP_", false},
	{"dash", "_JSONP_a-b", false},
	{"parenthesis", "_JSONP_a(1)", false},
	{"space", "_JSONP_a b", false},
	{"semicolon", "_JSONP_a;alert(1)", false},
	{"brackets", "_JSONP_a[0]", false},
	{"non-ASCII", "_JSONP_é", false},
	{"NUL", "_JSONP_a\x00", false},
	{"comment", "_JSONP_/**/", false},
	{"newline", "_JSONP_a\n", false},
	{"U+2028", "_JSONP_a\u2028", false},
}

func TestValidCallback(t *testing.T) {
	for _, c := range validCallbackCases {
		t.Run(c.name, func(t *testing.T) {
			if got := validCallback(c.cb); got != c.want {
				t.Fatalf("validCallback(%q): got %v, want %v", c.cb, got, c.want)
			}
		})
	}
}

var parseSinceCases = []struct {
	name string
	in   string
	want int64
}{
	{"empty", "", 0},
	{"zero", "0", 0},
	{"small", "42", 42},
	{"an id", "128916015846787", 128916015846787},
	{"max int64", "9223372036854775807", 9223372036854775807},
	{"overflow", "9223372036854775808", 0},
	{"far overflow", "99999999999999999999999", 0},
	{"leading zeros", "000000000000000000042", 42},
	{"plus sign", "+5", 0},
	{"minus sign", "-5", 0},
	{"leading space", " 5", 0},
	{"trailing space", "5 ", 0},
	{"letters", "abc", 0},
	{"digits then letter", "5a", 0},
	{"hex", "0x10", 0},
	{"decimal point", "5.0", 0},
	{"exponent", "1e5", 0},
	{"underscore", "1_000", 0},
	{"full-width digit", "\uff15", 0},
	{"Arabic-Indic digit", "\u0665", 0},
}

func TestParseSince(t *testing.T) {
	for _, c := range parseSinceCases {
		t.Run(c.name, func(t *testing.T) {
			if got := parseSince(c.in); got != c.want {
				t.Fatalf("parseSince(%q): got %d, want %d", c.in, got, c.want)
			}
		})
	}
}

var parseBoolCases = []struct {
	name   string
	in     string
	want   bool
	wantOK bool
}{
	{"1", "1", true, true},
	{"true", "true", true, true},
	{"yes", "yes", true, true},
	{"on", "on", true, true},
	// Any case: a Python server application sends str(True) == "True".
	{"True", "True", true, true},
	{"YES", "YES", true, true},
	{"0", "0", false, true},
	{"false", "false", false, true},
	{"no", "no", false, true},
	{"off", "off", false, true},
	{"False", "False", false, true},
	{"empty", "", false, true},
	{"2", "2", false, false},
	{"y", "y", false, false},
	{"t", "t", false, false},
	{"space", " ", false, false},
	{"padded", " true", false, false},
	{"truthy", "truee", false, false},
	{"minus one", "-1", false, false},
}

func TestParseBool(t *testing.T) {
	for _, c := range parseBoolCases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := parseBool(c.in)
			if got != c.want || ok != c.wantOK {
				t.Fatalf("parseBool(%q): got (%v, %v), want (%v, %v)", c.in, got, ok, c.want, c.wantOK)
			}
		})
	}
}

var parseCountCases = []struct {
	name   string
	in     string
	hi     int
	want   int
	wantOK bool
}{
	{"one", "1", 10000, 1, true},
	{"hundred", "100", 10000, 100, true},
	{"at the limit", "10000", 10000, 10000, true},
	{"over the limit", "10001", 10000, 0, false},
	{"zero", "0", 10000, 0, false},
	{"empty", "", 10000, 0, false},
	{"minus", "-1", 10000, 0, false},
	{"plus", "+1", 10000, 0, false},
	{"space", " 1", 10000, 0, false},
	{"leading zero", "01", 10000, 1, true},
	{"letters", "1a", 10000, 0, false},
	{"decimal", "1.5", 10000, 0, false},
	{"huge", "99999999999999999999", 10000, 0, false},
	{"int overflow", "9223372036854775808", 1 << 62, 0, false},
}

func TestParseCount(t *testing.T) {
	for _, c := range parseCountCases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := parseCount(c.in, c.hi)
			if got != c.want || ok != c.wantOK {
				t.Fatalf("parseCount(%q, %d): got (%d, %v), want (%d, %v)", c.in, c.hi, got, ok, c.want, c.wantOK)
			}
		})
	}
}

var appendStringCases = []struct {
	name  string
	in    string
	slash bool
	want  string
}{
	{"empty", "", false, `""`},
	{"plain", "hello", false, `"hello"`},
	{"quote", `a"b`, false, `"a\"b"`},
	{"backslash", `a\b`, false, `"a\\b"`},
	{"newline tab return", "a\nb\tc\rd", false, `"a\nb\tc\rd"`},
	{"control", "\x00\x01\x1f", false, `"\u0000\u0001\u001f"`},
	{"html", "<script>&</script>", false, `"\u003cscript\u003e\u0026\u003c/script\u003e"`},
	{"slash kept", "a/b", false, `"a/b"`},
	{"slash escaped", "a/b", true, `"a\/b"`},
	{"comment close", "*/", true, `"*\/"`},
	{"comment close unquoted", "*/", false, `"*/"`},
	{"U+2028", "a\u2028b", false, `"a\u2028b"`},
	{"U+2029", "a\u2029b", false, `"a\u2029b"`},
	{"U+2028 quoted", "\u2028/\u2029", true, `"\u2028\/\u2029"`},
	{"non-ASCII kept", "héllo ✓ 😀", false, `"héllo ✓ 😀"`},
	{"DEL kept", "\x7f", false, "\"\x7f\""},
	{"invalid UTF-8", "a\xffb", false, `"a\ufffdb"`},
	{"truncated rune", "\xe2\x80", false, `"\ufffd\ufffd"`},
}

func TestAppendString(t *testing.T) {
	for _, c := range appendStringCases {
		t.Run(c.name, func(t *testing.T) {
			got := string(appendString(nil, c.in, c.slash))
			if got != c.want {
				t.Fatalf("appendString(%q, %v): got %s, want %s", c.in, c.slash, got, c.want)
			}
			var back string
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatalf("appendString(%q): got invalid JSON %s: %v", c.in, got, err)
			}
			if want := strings.ToValidUTF8(c.in, "\ufffd"); c.name != "truncated rune" && back != want {
				t.Fatalf("appendString(%q): decodes to %q, want %q", c.in, back, want)
			}
			if strings.Contains(got, "\u2028") || strings.Contains(got, "\u2029") {
				t.Fatalf("appendString(%q): got a raw U+2028/U+2029 in %s", c.in, got)
			}
			if c.slash && strings.Contains(got, "*/") {
				t.Fatalf("appendString(%q, slash): got %s, which can close a comment", c.in, got)
			}
		})
	}
}

var redactQueryCases = []struct {
	name, in, want string
}{
	{"no secret", "a=1&b=2", "a=1&b=2"},
	{"secret", "secret=abc&x=1", "secret=REDACTED&x=1"},
	{"upper-case", "SECRET=abc", "SECRET=REDACTED"},
	{"encoded name", "s%65cret=abc", "s%65cret=REDACTED"},
	{"value mentions secret", "x=secret", "x=secret"},
	{"repeated", "secret=a&secret=b", "secret=REDACTED&secret=REDACTED"},
}

func TestRedactQuery(t *testing.T) {
	for _, c := range redactQueryCases {
		t.Run(c.name, func(t *testing.T) {
			if got := redactQuery(c.in); got != c.want {
				t.Fatalf("redactQuery(%q): got %q, want %q", c.in, got, c.want)
			}
		})
	}
}
