// Package logs checks what the real server writes to its logs: the access
// log names each request but never a message's content nor the secret,
// however they are sent, and --log-format=json gives one JSON object a
// line.
package logs

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

func TestMain(m *testing.M) { os.Exit(server.MainNoLeaks(m)) }

const (
	secret  = "TopSecret-42"
	content = "Content-Marker-7"
)

// send makes one request (body, when not nil, a form; header name, value
// pairs) and ignores the reply: the test reads the server's log.
func send(t testing.TB, method, u string, body url.Values, header ...string) {
	t.Helper()
	var ctype string
	var b []byte
	if body != nil {
		ctype, b = api.FormType, []byte(body.Encode())
	}
	api.Do(t, u, method, "", ctype, b, header...)
}

func TestAccessLogHoldsNoContentNorSecret(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			s := server.Start(t, "--access-log", "--log-format="+format, "--secret="+secret, "--http-timeout=1")
			esc := url.QueryEscape
			send(t, "POST", s.URL+"/channels.json", url.Values{"channel_id": {"news"}, "secret": {secret}})
			// The content and the secret, every way they may travel.
			send(t, "POST", s.URL+"/channels/news.json", url.Values{"content": {content + "-body"}, "secret": {secret}})
			send(t, "POST", s.URL+"/channels/news.json?secret="+esc(secret), url.Values{"content": {content + "-mixed"}})
			send(t, "POST", s.URL+"/channels/news.json?content="+esc(content+"-query")+"&secret="+esc(secret), nil)
			send(t, "POST", s.URL+"/channels/news.json?SeCrEt="+esc(secret)+"&%63ontent="+esc(content+"-encoded-key"), nil)
			send(t, "POST", s.URL+"/channels/news.json?s%65cret="+esc(secret)+"&content="+esc(content+"-2"), nil)
			send(t, "POST", s.URL+"/channels/news.json", url.Values{"content": {content + "-header"}}, "Authorization", "Bearer "+secret)
			send(t, "GET", s.URL+"/channels/news.json?since=0", nil)
			send(t, "GET", s.URL+"/channels/news.jsonp?since=0&cb=_JSONP_x", nil)
			send(t, "GET", s.URL+"/channels/%24status.json?secret="+esc(secret), nil)
			send(t, "GET", s.URL+"/channels/news.json?since=99999999999999999", nil) // held, then timeout
			if err := s.Stop(); err != nil {
				t.Fatalf("stop: got %v, want a clean exit", err)
			}
			log := s.Log()
			requests := 0
			sc := bufio.NewScanner(strings.NewReader(log))
			for sc.Scan() {
				line := sc.Text()
				if strings.Contains(line, "request") && strings.Contains(line, "/channels") {
					requests++
				}
				if format == "json" {
					var v map[string]any
					if err := json.Unmarshal([]byte(line), &v); err != nil {
						t.Errorf("--log-format=json: got a line that is not JSON (%v): %q", err, line)
					}
				}
			}
			if requests < 11 {
				t.Errorf("access log: got %d request lines, want at least 11\n%s", requests, log)
			}
			if strings.Contains(log, secret) || strings.Contains(log, esc(secret)) {
				t.Errorf("log: got the secret, want it redacted\n%s", log)
			}
			if strings.Contains(log, "Content-Marker") {
				t.Errorf("log: got message content, want none\n%s", log)
			}
			if !strings.Contains(log, "REDACTED") {
				t.Errorf("log: got no REDACTED placeholder, want the redacted parameters marked\n%s", log)
			}
		})
	}
}
