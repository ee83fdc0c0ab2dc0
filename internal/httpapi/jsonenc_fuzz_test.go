package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// stringSeeds are message contents and names that stress the encoder.
var stringSeeds = []string{
	"", "hello", `"quoted"`, `back\slash`, "new\nline\r\t", "\x00\x01\x1f\x7f",
	"</script><script>alert(1)</script>", "a & b", "*/ alert(1) /*", "/*-secure-", "//",
	"\u2028\u2029", "line\u2028sep", "é中😀", "\xff", "a\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	"\ufffd", `\u2028`, "*", "/", "*\u2028/",
}

func FuzzAppendString(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, slash bool) {
		out := appendString(nil, s, slash)
		if !utf8.Valid(out) {
			t.Fatalf("appendString(%q): got invalid UTF-8 %q", s, out)
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("appendString(%q): got %q, which encoding/json rejects: %v", s, out, err)
		}
		// Valid text comes back as it was; each invalid byte as one U+FFFD.
		if want := string([]rune(s)); back != want {
			t.Fatalf("appendString(%q) decoded: got %q, want %q", s, back, want)
		}
		if strings.ContainsAny(string(out), "\u2028\u2029") {
			t.Fatalf("appendString(%q): got raw U+2028/U+2029 in %q", s, out)
		}
		if strings.ContainsAny(string(out), "<>&") {
			t.Fatalf("appendString(%q): got raw <, > or & in %q", s, out)
		}
		if slash && !slashesEscaped(out) {
			t.Fatalf("appendString(%q, slash): got a raw / in %q", s, out)
		}
		if slash && strings.Contains(string(out), "*/") {
			t.Fatalf("appendString(%q, slash): got %q, which closes a comment", s, out)
		}
	})
}

// slashesEscaped reports whether every / in b is escaped: preceded by an
// odd run of backslashes.
func slashesEscaped(b []byte) bool {
	for i, c := range b {
		if c != '/' {
			continue
		}
		n := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return false
		}
	}
	return true
}
