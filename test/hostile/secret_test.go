package hostile

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/rawhttp"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

const secret = "s3cret-Value_with+symbols/=="

// protectedResource builds a request with the secret given as want: "" none,
// or a header or parameter carrying the value.
type protectedResource struct {
	name string
	// build returns the raw request; auth is "" (none), "header:V" or
	// "param:V".
	build func(auth string, n int) string
	// optional resources may not be wired in this build: a 404 with the
	// right secret skips the case.
	optional bool
}

// authParts turns auth into an extra query or form value and headers.
func authParts(auth string) (param url.Values, headers []string) {
	kind, v, _ := strings.Cut(auth, ":")
	switch kind {
	case "header":
		return url.Values{}, []string{"Authorization: Bearer " + v}
	case "lowerheader":
		return url.Values{}, []string{"Authorization: bearer " + v}
	case "param":
		return url.Values{"secret": {v}}, nil
	}
	return url.Values{}, nil
}

func withQuery(target string, v url.Values) string {
	if len(v) == 0 {
		return target
	}
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return target + sep + v.Encode()
}

func postForm(target string, form url.Values) func(auth string, n int) string {
	return func(auth string, n int) string {
		p, h := authParts(auth)
		v := url.Values{}
		for k, vs := range form {
			v[k] = []string{strings.ReplaceAll(vs[0], "N", fmt.Sprint(n))}
		}
		for k, vs := range p {
			v[k] = vs
		}
		return rawhttp.Form(strings.ReplaceAll(target, "N", fmt.Sprint(n)), v, h...)
	}
}

func withoutBody(method, target string) func(auth string, n int) string {
	return func(auth string, n int) string {
		p, h := authParts(auth)
		return rawhttp.Request(method, withQuery(strings.ReplaceAll(target, "N", fmt.Sprint(n)), p), "", h...)
	}
}

// protectedResources are every resource PROTOCOL.md puts behind the
// secret. N in a name is replaced by a number unique to each attempt, so
// that each accepted attempt acts on its own channel or client.
var protectedResources = []protectedResource{
	{name: "register a channel", build: postForm("/channels.json", url.Values{"channel_id": {"reg-N"}})},
	{name: "register a channel as JSON-P", build: postForm("/channels.jsonp", url.Values{"channel_id": {"regp-N"}})},
	{name: "publish", build: postForm("/channels/open.json", url.Values{"content": {"msg-N"}})},
	{name: "delete a channel", build: withoutBody("DELETE", "/channels/del-N.json")},
	{name: "register a client", build: postForm("/clients.json", url.Values{"client_id": {"client-N"}})},
	{name: "delete a client", build: withoutBody("DELETE", "/clients/dclient-N.json")},
	{name: "status", build: withoutBody("GET", "/status.json")},
	{name: "stats as JSON-P", build: withoutBody("GET", "/stats.jsonp")},
	{name: "read $status", build: withoutBody("GET", "/channels/$status.json")},
	{name: "read a list with $status", build: withoutBody("GET", "/channels/open%7C$status.json?since=0")},
	{name: "metrics", build: withoutBody("GET", "/metrics"), optional: true},
}

func TestSecret(t *testing.T) {
	// The secret comes from the environment, so it is not on the command line.
	s := server.StartEnv(t, []string{"SIMPLE_COMET_SECRET=" + secret}, "--enable-status", "--enable-metrics", "--access-log")
	for _, a := range s.Args {
		if strings.Contains(a, secret) {
			t.Fatalf("got the secret in the arguments %q, want it only in the environment", s.Args)
		}
	}
	addr := s.Addr
	auth := url.Values{"secret": {secret}}
	rawhttp.Register(t, addr, "open", auth)
	rawhttp.Publish(t, addr, "open", "hello", auth)
	n := 0
	next := func() int { n++; return n }

	for _, r := range protectedResources {
		t.Run(r.name, func(t *testing.T) {
			// The resources that delete need something to delete.
			prepare := func(id int) {
				switch r.name {
				case "delete a channel":
					rawhttp.Register(t, addr, fmt.Sprint("del-", id), auth)
				case "delete a client":
					if rep, code := rawhttp.Call(t, addr, rawhttp.Form("/clients.json", url.Values{"client_id": {fmt.Sprint("dclient-", id)}, "secret": {secret}})); code != 1 {
						t.Fatalf("register client: got %q, want 1", rep.Body)
					}
				}
			}
			for _, bad := range []string{"", "header:wrong", "param:wrong", "param:", "header:" + secret + "x", "param:" + strings.ToUpper(secret), "header:" + secret[:len(secret)-1]} {
				id := next()
				prepare(id)
				rep := rawhttp.Send(t, addr, r.build(bad, id))
				if r.optional && rep.StatusCode == 404 {
					t.Skipf("LOUD: %s is not wired in this build (404); its secret check is covered by FuzzHandler", r.name)
				}
				if code, ok := rep.Code(); !ok || code != -4 {
					t.Fatalf("with auth %q: got %d %q, want return_code -4", bad, rep.StatusCode, rep.Body)
				}
			}
			for _, good := range []string{"header:" + secret, "lowerheader:" + secret, "param:" + secret} {
				id := next()
				prepare(id)
				rep := rawhttp.Send(t, addr, r.build(good, id))
				if r.optional && rep.StatusCode == 404 {
					t.Skipf("LOUD: %s is not wired in this build (404)", r.name)
				}
				code, ok := rep.Code()
				switch {
				case r.name == "metrics":
					if rep.StatusCode != 200 || ok {
						t.Fatalf("with auth %q: got %d %q, want 200 with the metrics", good, rep.StatusCode, rep.Body)
					}
				case strings.HasPrefix(r.name, "read") && code == -2:
					// Accepted: $status holds nothing until the status
					// publisher runs, so there may be no valid channel.
				case code < 1:
					t.Fatalf("with auth %q: got %d %q, want success", good, rep.StatusCode, rep.Body)
				}
			}
		})
	}

	t.Run("the secret is checked before the parameters", func(t *testing.T) {
		rep, code := rawhttp.Call(t, addr, rawhttp.Form("/channels.json", url.Values{"channel_id": {"$bad|name"}}))
		if code != -4 {
			t.Fatalf("an invalid request without the secret: got %q, want -4 before -1", rep.Body)
		}
	})
	t.Run("reads are open", func(t *testing.T) {
		for _, a := range []string{"", "header:wrong", "param:wrong"} {
			p, h := authParts(a)
			rep, code := rawhttp.Call(t, addr, rawhttp.Request("GET", withQuery("/channels/open.json?since=0", p), "", h...))
			var r api.ReadReply
			rep.Decode(t, &r)
			if code != 1 || len(r.Messages["open"]) == 0 {
				t.Fatalf("a read with auth %q: got %q, want 1 with the messages", a, rep.Body)
			}
		}
		if rep := rawhttp.Send(t, addr, rawhttp.Request("GET", "/health", "")); rep.StatusCode != 200 {
			t.Fatalf("health without the secret: got %d, want 200", rep.StatusCode)
		}
		if rep := rawhttp.Send(t, addr, rawhttp.Request("GET", "/simple-comet.js", "")); rep.StatusCode != 200 {
			t.Fatalf("the client script without the secret: got %d, want 200", rep.StatusCode)
		}
	})
	t.Run("the access log never shows the secret", func(t *testing.T) {
		rawhttp.Send(t, addr, rawhttp.Request("GET", "/status.json?secret="+url.QueryEscape(secret), ""))
		rawhttp.Send(t, addr, rawhttp.Request("GET", "/status.json?SECRET=wrong-guess-1&%73ecret=wrong-guess-2", ""))
		log := s.Log()
		if !strings.Contains(log, "status.json") {
			t.Fatalf("got no access log line for /status.json, want one:\n%s", log)
		}
		for _, v := range []string{secret, url.QueryEscape(secret), "wrong-guess-1", "wrong-guess-2"} {
			if strings.Contains(log, v) {
				t.Fatalf("got %q in the log, want it redacted", v)
			}
		}
	})
}

func TestSecretFlagAndNoStartWarningOnLoopback(t *testing.T) {
	s := server.Start(t, "--secret="+secret)
	if rep, code := rawhttp.Call(t, s.Addr, rawhttp.Form("/channels.json", url.Values{"channel_id": {"x"}})); code != -4 {
		t.Fatalf("register without the secret given by --secret: got %q, want -4", rep.Body)
	}
	rawhttp.Register(t, s.Addr, "x", url.Values{"secret": {secret}})
	open := server.Start(t)
	if strings.Contains(open.Log(), "no --secret") {
		t.Fatalf("got the no-secret warning on a loopback-only server, want none:\n%s", open.Log())
	}
}
