package integration

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
	"github.com/simple-comet/simple-comet/internal/testutil/server"
)

// runBinary runs the binary to completion (bounded) and returns its exit
// status, stdout and stderr.
func runBinary(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := server.Command(ctx, t, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	t.Fatalf("run %v: %v", args, err)
	return -1, "", ""
}

func TestBadSwitches(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		args []string
	}{
		{"unknown switch", nil, []string{"--bogus"}},
		{"port not a number", nil, []string{"--http-port=abc"}},
		{"port out of range", nil, []string{"--http-port=70000"}},
		{"negative timeout", nil, []string{"--http-timeout=-1"}},
		{"zero session timeout", nil, []string{"--session-timeout=0"}},
		{"bad boolean", nil, []string{"--quote-json=maybe"}},
		{"default retention above the limit", nil, []string{"--messages-per-channel=20", "--max-messages-limit=10"}},
		{"bad log format", nil, []string{"--log-format=xml"}},
		{"stray argument", nil, []string{"extra"}},
		{"bad environment value", []string{"SIMPLE_COMET_HTTP_TIMEOUT=soon"}, nil},
		{"bad environment boolean", []string{"SIMPLE_COMET_ENABLE_STATUS=perhaps"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runBinary(t, c.env, append([]string{"--http-port=0", "--bind=127.0.0.1"}, c.args...)...)
			if code != 2 {
				t.Fatalf("got exit %d (stderr %q), want 2", code, stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || lines[0] == "" {
				t.Fatalf("got stderr %q, want exactly one line", stderr)
			}
			if strings.Contains(stderr, "listening") || stdout != "" {
				t.Fatalf("got stdout %q stderr %q, want nothing but the error", stdout, stderr)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := runBinary(t, nil, "--help")
	if code != 0 {
		t.Fatalf("--help: got exit %d, want 0", code)
	}
	for _, sw := range []string{"--http-port", "--http-timeout", "--session-timeout", "--inactive-channel-timeout", "--messages-per-channel", "--max-messages-per-channel", "--quote-json", "--enable-status", "--unix-socket-path", "--bind", "SIMPLE_COMET_HTTP_PORT"} {
		if !strings.Contains(out, sw) {
			t.Fatalf("--help: got no %s in\n%s", sw, out)
		}
	}
	code, out, _ = runBinary(t, nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "simple_comet ") {
		t.Fatalf("--version: got exit %d, %q; want 0 and \"simple_comet VERSION\"", code, out)
	}
}

func TestEnvironment(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		t.Run("env sets", func(t *testing.T) {
			t.Parallel()
			s := e.startEnv(t, []string{"SIMPLE_COMET_ENABLE_STATUS=true", "SIMPLE_COMET_HTTP_TIMEOUT=1", "SIMPLE_COMET_MAX_MESSAGES_PER_CHANNEL=2"})
			api.Get(t, s.URL, "/status.json").WantStatus(t, 200)
			api.Register(t, s.URL, "a")
			for _, c := range []string{"1", "2", "3"} {
				api.Publish(t, s.URL, "a", c)
			}
			if got := api.Contents(api.ReadNow(t, s.URL, []string{"a"}, "").Messages["a"]); strings.Join(got, "") != "23" {
				t.Fatalf("retention from the environment: got %q, want [2 3]", got)
			}
			start := time.Now()
			api.Get(t, s.URL, "/channels/a.json?since=9000000000000000000").Read(t)
			if d := time.Since(start); d > 8*time.Second {
				t.Fatalf("hold with SIMPLE_COMET_HTTP_TIMEOUT=1: took %v, want about 1s", d)
			}
		})
		t.Run("flag wins", func(t *testing.T) {
			t.Parallel()
			s := e.startEnv(t, []string{"SIMPLE_COMET_ENABLE_STATUS=true", "SIMPLE_COMET_HTTP_TIMEOUT=1", "SIMPLE_COMET_MESSAGES_PER_CHANNEL=1"},
				"--enable-status=false", "--http-timeout=30", "--max-messages-per-channel=3")
			api.Get(t, s.URL, "/status.json").WantStatus(t, 404)
			api.Register(t, s.URL, "a")
			for _, c := range []string{"1", "2", "3", "4"} {
				api.Publish(t, s.URL, "a", c)
			}
			if got := api.Contents(api.ReadNow(t, s.URL, []string{"a"}, "").Messages["a"]); strings.Join(got, "") != "234" {
				t.Fatalf("retention: got %q, want the flag's 3", got)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			_, err := api.Try(ctx, nil, s.URL, "GET", "/channels/a.json?since=9000000000000000000", "", nil)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("hold with --http-timeout=30 over SIMPLE_COMET_HTTP_TIMEOUT=1: got %v after 3s, want still held", err)
			}
		})
	})
}

func unixClient(path string) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
}

func TestUnixSocket(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		dir := t.TempDir()
		t.Run("with a TCP port too", func(t *testing.T) {
			sock := filepath.Join(dir, "both.sock")
			s := e.start(t, "--unix-socket-path="+sock)
			api.Register(t, s.URL, "tcp")
			r, err := api.Try(t.Context(), unixClient(sock), "http://unix", "POST", "/channels/tcp.json?content=via-socket", "", nil)
			if err != nil {
				t.Fatalf("request over the socket: %v", err)
			}
			r.WantCode(t, 1)
			if got := api.Contents(api.ReadNow(t, s.URL, []string{"tcp"}, "").Messages["tcp"]); len(got) != 1 || got[0] != "via-socket" {
				t.Fatalf("got %q, want [via-socket]", got)
			}
		})
		t.Run("socket only", func(t *testing.T) {
			sock := filepath.Join(dir, "only.sock")
			cmd := server.Command(context.Background(), t, append(e.args(t), "--unix-socket-path="+sock)...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			defer func() {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				select {
				case err := <-done:
					log := errb.String() // the process has ended: safe to read
					if err != nil {
						t.Errorf("exit after SIGTERM: got %v, want status 0\n%s", err, log)
					}
					// No TCP listener: the log names only the socket.
					if n := strings.Count(log, "listening on"); n != 1 || !strings.Contains(log, "listening on "+sock) {
						t.Errorf("socket only: got %d listeners in the log, want just the socket\n%s", n, log)
					}
				case <-time.After(15 * time.Second):
					_ = cmd.Process.Kill()
					t.Error("no exit within 15s of SIGTERM")
				}
			}()
			c := unixClient(sock)
			api.Eventually(t, "the socket answers", 20*time.Second, func() bool {
				r, err := api.Try(t.Context(), c, "http://unix", "GET", "/health", "", nil)
				return err == nil && r.Status == 200
			})
			r, err := api.Try(t.Context(), c, "http://unix", "POST", "/channels.json?channel_id=u", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			r.WantCode(t, 1)
		})
	})
}

// "Both --name=value and --name value work", booleans included; a listen
// failure exits 1.
func TestSwitchForms(t *testing.T) {
	t.Run("booleans as --name value", func(t *testing.T) {
		t.Parallel()
		on := server.Start(t, "--quote-json", "true", "--enable-status", "1")
		wantQuoted(t, "--quote-json true", api.Get(t, on.URL, "/health").Body, "ok")
		api.Get(t, on.URL, "/status.json").WantStatus(t, 200).WantCode(t, 1)
		off := server.StartEnv(t, []string{"SIMPLE_COMET_QUOTE_JSON=true", "SIMPLE_COMET_ENABLE_STATUS=true"}, "--quote-json", "false", "--enable-status", "FALSE")
		if b := string(api.Get(t, off.URL, "/health").Body); b != `{"ok":true}` {
			t.Fatalf("--quote-json false over the environment: got %q, want {\"ok\":true}", b)
		}
		api.Get(t, off.URL, "/status.json").WantStatus(t, 404)
	})
	t.Run("values as --name value", func(t *testing.T) {
		t.Parallel()
		s := server.Start(t, "--http-timeout", "1", "--messages-per-channel", "2", "--enable-status")
		api.Register(t, s.URL, "v")
		for _, c := range []string{"1", "2", "3"} {
			api.Publish(t, s.URL, "v", c)
		}
		if got := api.Contents(api.ReadNow(t, s.URL, []string{"v"}, "").Messages["v"]); strings.Join(got, "") != "23" {
			t.Fatalf("--messages-per-channel 2: got %q, want [2 3]", got)
		}
		start := time.Now()
		api.Get(t, s.URL, "/channels/v.json?since="+farSince).Read(t)
		if d := time.Since(start); d > 8*time.Second {
			t.Fatalf("--http-timeout 1: held %v, want about 1s", d)
		}
	})
	t.Run("a boolean followed by a non-boolean is still a stray argument", func(t *testing.T) {
		t.Parallel()
		code, _, stderr := runBinary(t, nil, "--http-port=0", "--bind=127.0.0.1", "--quote-json", "maybe")
		if code != 2 || strings.Count(strings.TrimRight(stderr, "\n"), "\n") != 0 {
			t.Fatalf("got exit %d, stderr %q; want 2 and one line", code, stderr)
		}
	})
	t.Run("listen failure exits 1", func(t *testing.T) {
		t.Parallel()
		s := server.Start(t)
		_, port, _ := strings.Cut(s.Addr, ":")
		code, _, stderr := runBinary(t, nil, "--bind=127.0.0.1", "--http-port", port)
		if code != 1 {
			t.Fatalf("listening on a taken port: got exit %d (stderr %q), want 1", code, stderr)
		}
	})
}
