package hostile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/rawhttp"
)

// hostileCase is one malformed or hostile request and the answer it must
// get. status 0 means the HTTP library's own refusal (400, 414, 431 or
// 501, plain text); code 0 means the body is not checked for a
// return_code.
type hostileCase struct {
	name   string
	raw    string
	status int
	code   int
	has    string                                 // the body contains this
	check  func(t *testing.T, rep *rawhttp.Reply) // further checks
}

const invalidCallback = "/* invalid JSONP callback name */"

var (
	get  = func(target string, h ...string) string { return rawhttp.Request("GET", target, "", h...) }
	form = func(target, body string, h ...string) string {
		return rawhttp.Request("POST", target, body, append([]string{"Content-Type: application/x-www-form-urlencoded"}, h...)...)
	}
)

// channelList joins n names c0|c1|... with %7C.
func channelList(n int, name func(int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = name(i)
	}
	return strings.Join(parts, "%7C")
}

// sinceIs checks the since a read used and that it returned keep's messages.
func sinceIs(want int64, messages bool) func(t *testing.T, rep *rawhttp.Reply) {
	return func(t *testing.T, rep *rawhttp.Reply) {
		var r api.ReadReply
		rep.Decode(t, &r)
		if r.Since != want && want >= 0 {
			t.Fatalf("got since %d, want %d", r.Since, want)
		}
		if got := len(r.Messages["keep"]) > 0; got != messages {
			t.Fatalf("got messages %v (%d), want %v", got, len(r.Messages["keep"]), messages)
		}
	}
}

func jsonpCall(cb string) func(t *testing.T, rep *rawhttp.Reply) {
	return func(t *testing.T, rep *rawhttp.Reply) {
		if !strings.HasPrefix(string(rep.Body), "/**/"+cb+"(") || !strings.HasSuffix(string(rep.Body), ");") {
			t.Fatalf("got body %q, want /**/%s(...);", rep.Body, cb)
		}
		if ct := rep.Header.Get("Content-Type"); ct != "application/javascript" {
			t.Fatalf("got Content-Type %q, want application/javascript", ct)
		}
	}
}

func allow(want string) func(t *testing.T, rep *rawhttp.Reply) {
	return func(t *testing.T, rep *rawhttp.Reply) {
		if got := rep.Header.Get("Allow"); got != want {
			t.Fatalf("got Allow %q, want %q", got, want)
		}
	}
}

func echo(field, want string) func(t *testing.T, rep *rawhttp.Reply) {
	return func(t *testing.T, rep *rawhttp.Reply) {
		var m map[string]any
		rep.Decode(t, &m)
		if m[field] != want {
			t.Fatalf("got %s %v, want %q", field, m[field], want)
		}
	}
}

func closes(t *testing.T, rep *rawhttp.Reply) {
	if !rep.Close {
		t.Fatalf("got a connection kept open, want Connection: close")
	}
}

// hostileCases is the table; the stateful ones (slow clients, pipelining,
// bodies that lie about their length) are functions in hostile_test.go.
func hostileCases() []hostileCase {
	long := strings.Repeat("n", 256)
	cb65 := "_JSONP_" + strings.Repeat("a", 58)
	return []hostileCase{
		// Names: invalid UTF-8, control characters, |, length, reserved.
		{name: "register invalid UTF-8 name", raw: form("/channels.json", "channel_id=%FF%FE"), status: 200, code: -1, has: "Invalid channel name"},
		{name: "register overlong UTF-8 slash", raw: form("/channels.json", "channel_id=%C0%AF"), status: 200, code: -1},
		{name: "register UTF-16 surrogate half", raw: form("/channels.json", "channel_id=%ED%A0%80"), status: 200, code: -1},
		{name: "register NUL in name", raw: form("/channels.json", "channel_id=a%00b"), status: 200, code: -1},
		{name: "register newline in name", raw: form("/channels.json", "channel_id=a%0D%0Ab"), status: 200, code: -1},
		{name: "register DEL in name", raw: form("/channels.json", "channel_id=a%7Fb"), status: 200, code: -1},
		{name: "register C1 control in name", raw: form("/channels.json", "channel_id=a%C2%85b"), status: 200, code: -1},
		{name: "register pipe in name", raw: form("/channels.json", "channel_id=a%7Cb"), status: 200, code: -1},
		{name: "register 256-byte name", raw: form("/channels.json", "channel_id="+long), status: 200, code: -1},
		{name: "register empty name", raw: form("/channels.json", "channel_id="), status: 200, code: -1, has: "Missing channel_id"},
		{name: "register reserved name", raw: form("/channels.json", "channel_id=%24status"), status: 200, code: -1, has: "Reserved"},
		{name: "register 255-byte name works", raw: form("/channels.json", "channel_id="+long[:255]), status: 200, code: 1},
		{name: "publish to invalid UTF-8 path", raw: form("/channels/%FF.json", "content=x"), status: 200, code: -1},
		{name: "publish to NUL path", raw: form("/channels/a%00.json", "content=x"), status: 200, code: -1},
		{name: "publish to pipe list", raw: form("/channels/keep%7Cother.json", "content=x"), status: 200, code: -1},
		{name: "publish to reserved channel", raw: form("/channels/%24status.json", "content=x"), status: 200, code: -1, has: "Reserved"},
		{name: "delete reserved channel", raw: rawhttp.Request("DELETE", "/channels/$status.json", ""), status: 200, code: -1},
		{name: "read with empty name in list", raw: get("/channels/keep%7C.json"), status: 200, code: -1},
		{name: "read with control character", raw: get("/channels/keep%7Ca%01.json"), status: 200, code: -1},
		{name: "read with 101 channels", raw: get("/channels/" + channelList(101, func(i int) string { return fmt.Sprint("c", i) }) + ".json"), status: 200, code: -1, has: "Too many channels"},
		{name: "read with 10000 channels", raw: get("/channels/" + channelList(10000, func(i int) string { return fmt.Sprint("c", i) }) + ".json"), status: 200, code: -1, has: "Too many channels"},
		{name: "read one channel 100 times", raw: get("/channels/" + channelList(100, func(int) string { return "keep" }) + ".json?since=0"), status: 200, code: 1, check: sinceIs(0, true)},
		{name: "client id with pipe", raw: form("/clients.json", "client_id=a%7Cb"), status: 200, code: -1},
		{name: "client id invalid UTF-8", raw: form("/clients.json", "client_id=%FF"), status: 200, code: -1},
		{name: "empty client id on read", raw: get("/channels/keep.json?client_id="), status: 200, code: -1},
		{name: "unknown client on session channel", raw: get("/channels/sess.json?client_id=nobody"), status: 200, code: -3},
		{name: "session channel without client", raw: get("/channels/sess.json"), status: 200, code: -2},

		// since: anything but digits within int64 is 0; above the newest id
		// it is the newest id (and the read is held).
		{name: "since overflow", raw: get("/channels/keep.json?since=99999999999999999999"), status: 200, code: 1, check: sinceIs(0, true)},
		{name: "since negative", raw: get("/channels/keep.json?since=-5"), status: 200, code: 1, check: sinceIs(0, true)},
		{name: "since with plus sign", raw: get("/channels/keep.json?since=%2B5"), status: 200, code: 1, check: sinceIs(0, true)},
		{name: "since hexadecimal", raw: get("/channels/keep.json?since=0x10"), status: 200, code: 1, check: sinceIs(0, true)},
		{name: "since with space", raw: get("/channels/keep.json?since=%205"), status: 200, code: 1, check: sinceIs(0, true)},
		{name: "since repeated: the first counts", raw: get("/channels/keep.json?since=0&since=9"), status: 200, code: 1, check: sinceIs(0, true)},
		{name: "since max int64 is held and clamped", raw: get("/channels/keep.json?since=9223372036854775807"), status: 200, code: 1, check: func(t *testing.T, rep *rawhttp.Reply) {
			var r api.ReadReply
			rep.Decode(t, &r)
			if r.Since != r.LastID || r.Since <= 0 || len(r.Messages["keep"]) != 0 {
				t.Fatalf("got since %d last_id %d with %d messages, want since = last_id = the newest id and none", r.Since, r.LastID, len(r.Messages["keep"]))
			}
		}},

		// max_messages and use_sessions.
		{name: "max_messages 0", raw: form("/channels.json", "channel_id=m0&max_messages=0"), status: 200, code: -1, has: "max_messages"},
		{name: "max_messages -1", raw: form("/channels.json", "channel_id=m1&max_messages=-1"), status: 200, code: -1},
		{name: "max_messages 10^12", raw: form("/channels.json", "channel_id=m2&max_messages=1000000000000"), status: 200, code: -1},
		{name: "max_messages over the limit", raw: form("/channels.json", "channel_id=m3&max_messages=10001"), status: 200, code: -1},
		{name: "max_messages 1e3", raw: form("/channels.json", "channel_id=m4&max_messages=1e3"), status: 200, code: -1},
		{name: "use_sessions maybe", raw: form("/channels.json", "channel_id=m5&use_sessions=maybe"), status: 200, code: -1},

		// JSON-P callbacks: checked first, never echoed.
		{name: "callback alert(1)", raw: get("/channels/keep.jsonp?cb=alert(1)"), status: 200, has: invalidCallback},
		{name: "callback statement injection", raw: get("/channels/keep.jsonp?cb=_JSONP_a%3Balert(1)//"), status: 200, has: invalidCallback},
		// A raw ; makes the pair malformed: it is skipped, as browsers do,
		// and the default callback answers.
		{name: "callback with raw semicolon is skipped", raw: get("/channels/keep.jsonp?cb=_JSONP_a;alert(1)//&since=0"), status: 200, code: 1, check: jsonpCall("_JSONP_comet_cb")},
		{name: "callback closing script", raw: get("/channels/keep.jsonp?cb=_JSONP_a%3C/script%3E"), status: 200, has: invalidCallback},
		{name: "callback 65 bytes", raw: get("/channels/keep.jsonp?cb=" + cb65), status: 200, has: invalidCallback},
		{name: "callback with U+2028", raw: get("/channels/keep.jsonp?cb=_JSONP_%E2%80%A8"), status: 200, has: invalidCallback},
		{name: "callback with leading newline", raw: get("/channels/keep.jsonp?cb=%0A_JSONP_a"), status: 200, has: invalidCallback},
		{name: "callback empty", raw: get("/channels/keep.jsonp?cb="), status: 200, has: invalidCallback},
		{name: "callback invalid on publish stores nothing", raw: form("/channels/keep.jsonp?cb=x(", "content=must-not-be-stored"), status: 200, has: invalidCallback},
		{name: "callback valid", raw: get("/channels/keep.jsonp?cb=_JSONP_ok&since=0"), status: 200, code: 1, check: jsonpCall("_JSONP_ok")},
		{name: "callback repeated: the first counts", raw: get("/channels/keep.jsonp?cb=_JSONP_first&cb=alert(1)&since=0"), status: 200, code: 1, check: jsonpCall("_JSONP_first")},

		// Duplicate parameters: the first of a source counts, the body wins.
		{name: "channel_id repeated", raw: form("/channels.json", "channel_id=dupA&channel_id=dupB"), status: 200, code: 1, check: echo("channel_id", "dupA")},
		{name: "client_id in query and body", raw: form("/clients.json?client_id=fromQuery", "client_id=fromBody"), status: 200, code: 1, check: echo("client_id", "fromBody")},

		// Methods.
		{name: "PUT on a channel", raw: rawhttp.Request("PUT", "/channels/keep.json", "content=x"), status: 405, code: -1, check: allow("GET, POST, DELETE")},
		{name: "HEAD on a read", raw: rawhttp.Request("HEAD", "/channels/keep.json", ""), status: 405, check: allow("GET, POST, DELETE")},
		{name: "OPTIONS on a channel", raw: rawhttp.Request("OPTIONS", "/channels/keep.json", ""), status: 405, code: -1},
		{name: "TRACE on a channel", raw: rawhttp.Request("TRACE", "/channels/keep.json", ""), status: 405, code: -1},
		{name: "made-up method", raw: rawhttp.Request("BREW", "/channels/keep.json", ""), status: 405, code: -1},
		{name: "GET on the channel collection", raw: get("/channels.json"), status: 405, code: -1, check: allow("POST")},
		{name: "GET on a client", raw: get("/clients/c1.json"), status: 405, code: -1, check: allow("DELETE")},
		{name: "POST on health", raw: form("/health", ""), status: 405, code: -1, check: allow("GET, HEAD")},

		// Unknown suffixes and resources.
		{name: "suffix .xml", raw: get("/channels/keep.xml"), status: 200, code: -1, has: "Unknown output format"},
		{name: "no suffix", raw: get("/channels/keep"), status: 200, code: -1, has: "Unknown output format"},
		{name: "suffix .json.bak", raw: get("/channels/keep.json.bak"), status: 200, code: -1, has: "Unknown output format"},
		{name: "suffix .JSON", raw: get("/channels/keep.JSON"), status: 200, code: -1, has: "Unknown output format"},
		{name: "collection .php", raw: form("/channels.php", "channel_id=x"), status: 200, code: -1, has: "Unknown output format"},
		{name: "unknown path", raw: get("/wp-admin/"), status: 404, code: -1, has: "Unknown resource"},
		{name: "status without --enable-status", raw: get("/status.json"), status: 404, code: -1},
		{name: "dot segments are a name", raw: get("/channels/../status.json"), status: 200, code: -2},
		{name: "encoded slash is a name", raw: get("/channels/keep%2Fx.json"), status: 200, code: -2},
		{name: "double-encoded pipe is a name", raw: get("/channels/keep%257Cother.json"), status: 200, code: -2},
		{name: "absolute-form target", raw: get("http://evil.example/channels/keep.json?since=0"), status: 200, code: 1, check: sinceIs(0, true)},
		{name: "HTTP/2 preface", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status: 404},

		// Bodies.
		{name: "body over the limit", raw: form("/channels/keep.json", "content="+strings.Repeat("x", bodyLimit)), status: 413, code: -1, check: closes},
		{name: "announced body over the limit", raw: "POST /channels/keep.json HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 99999999999\r\n\r\n", status: 413, code: -1, check: closes},
		{name: "chunked body over the limit", raw: chunked("/channels/keep.json", "content="+strings.Repeat("x", bodyLimit)), status: 413, code: -1, check: closes},
		{name: "chunked body", raw: chunked("/channels/other.json", "content=chunked"), status: 200, code: 1},
		{name: "malformed chunk size", raw: "POST /channels/keep.json HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nzz\r\ncontent=x\r\n0\r\n\r\n", status: 200, code: -1, has: "Malformed request body", check: closes},
		{name: "both Content-Length and chunked", raw: "POST /channels/keep.json HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n0\r\n\r\n", status: 200, code: -1, has: "Missing content"},
		{name: "unsupported transfer coding", raw: "POST /channels/keep.json HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", status: 0},
		{name: "multipart without boundary", raw: rawhttp.Request("POST", "/channels/keep.json", "content=x", "Content-Type: multipart/form-data"), status: 200, code: -1, has: "Malformed request body"},
		{name: "multipart garbage", raw: rawhttp.Request("POST", "/channels/keep.json", "garbage", "Content-Type: multipart/form-data; boundary=B"), status: 200, code: -1},
		{name: "JSON body is not a form", raw: rawhttp.Request("POST", "/channels/keep.json", `{"content":"x"}`, "Content-Type: application/json"), status: 200, code: -1, has: "Missing content"},
		{name: "invalid UTF-8 content", raw: form("/channels/keep.json", "content=%FF%FE"), status: 200, code: -1, has: "UTF-8"},
		{name: "body on a read is ignored", raw: rawhttp.Request("GET", "/channels/keep.json?since=0", "since=999", "Content-Type: application/x-www-form-urlencoded"), status: 200, code: 1, check: sinceIs(0, true)},

		// Headers and request lines.
		{name: "one 200 KB header", raw: get("/health", "X-Flood: "+strings.Repeat("a", 200<<10)), status: 431},
		{name: "20000 headers", raw: get("/health", strings.Repeat("X-Flood: a\r\n", 20000)+"X-End: b"), status: 431},
		{name: "3000 small headers within the limit", raw: get("/health", strings.Repeat("X-Flood: a\r\n", 3000)+"X-End: b"), status: 200},
		{name: "300 KB URI", raw: get("/channels/" + strings.Repeat("a", 300<<10) + ".json"), status: 0},
		{name: "header without colon", raw: "GET /health HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n", status: 400},
		{name: "NUL in a header", raw: "GET /health HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n", status: 400},
		{name: "HTTP/1.1 without Host", raw: "GET /health HTTP/1.1\r\n\r\n", status: 400},
		{name: "garbage request line", raw: "HELLO\r\n\r\n", status: 400},
		{name: "bad percent escape in path", raw: get("/channels/a%zz.json"), status: 400},
		{name: "garbage Authorization on a read", raw: get("/channels/keep.json?since=0", "Authorization: Bearer ';DROP TABLE channels;--"), status: 200, code: 1},
		{name: "control characters in Authorization", raw: get("/channels/keep.json?since=0", "Authorization: \x01\x02 Bearer"), status: 400},
		{name: "HTTP/1.0 without Host", raw: "GET /channels/keep.json?since=0 HTTP/1.0\r\n\r\n", status: 200, code: 1},
	}
}

// chunked builds a chunked urlencoded POST in 1 KB chunks.
func chunked(target, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n", target)
	for len(body) > 0 {
		n := min(len(body), 1024)
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}
