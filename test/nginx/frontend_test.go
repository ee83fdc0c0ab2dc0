//go:build unix

package nginx

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simple-comet/simple-comet/internal/testutil/api"
)

// frontEnd is one nginx process running deploy/nginx.conf.
type frontEnd struct {
	URL    string
	TLSURL string // https://127.0.0.1:PORT, HTTP/2 with the certificate in Dir
	Dir    string // its prefix: config, logs, pid and temp files
	cmd    *exec.Cmd
}

// nginxBinary finds nginx, or skips (fails with CI=true).
func nginxBinary(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	msg := "NGINX IS MISSING: install the Debian package nginx (make deps) to run the front-end tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func deployConf(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// markerRE finds a deployment-specific line: one ending in "# @name".
var markerRE = regexp.MustCompile(`\s*#\s*(@[a-z_]+)\s*$`)

// render rewrites the lines of deploy/nginx.conf marked "# @..." for a run
// in dir on port in front of nodes; every other line is used as written.
func render(t testing.TB, conf, dir string, port, tlsPort int, nodes []string) string {
	t.Helper()
	var out []string
	seen := map[string]int{}
	for _, line := range strings.Split(conf, "\n") {
		mm := markerRE.FindStringSubmatchIndex(line)
		if mm == nil {
			out = append(out, line)
			continue
		}
		i, marker := mm[0], line[mm[2]:mm[3]]
		seen[marker]++
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
		switch marker {
		case "@user":
			if os.Geteuid() == 0 {
				// Workers must reach the test's private temporary directory.
				out = append(out, indent+"user root;")
			}
		case "@pid":
			out = append(out, indent+"pid "+filepath.Join(dir, "nginx.pid")+";")
		case "@error_log":
			out = append(out, indent+"error_log "+filepath.Join(dir, "error.log")+" info;")
		case "@access_log":
			out = append(out, indent+"access_log "+filepath.Join(dir, "access.log")+";")
		case "@temp":
			out = append(out, strings.Replace(line[:i], "/var/lib/nginx", filepath.Join(dir, "temp"), 1))
		case "@node":
			for _, n := range nodes {
				out = append(out, indent+"server "+n+" max_fails=3 fail_timeout=5s;")
			}
		case "@listen":
			out = append(out, fmt.Sprintf("%slisten 127.0.0.1:%d;", indent, port))
		case "@listen_tls":
			out = append(out, fmt.Sprintf("%slisten 127.0.0.1:%d ssl http2;", indent, tlsPort))
		case "@cert":
			out = append(out, indent+"ssl_certificate "+filepath.Join(dir, "cert.pem")+";")
		case "@key":
			out = append(out, indent+"ssl_certificate_key "+filepath.Join(dir, "key.pem")+";")
		default:
			t.Fatalf("deploy/nginx.conf: got unknown marker %s, want one this test knows", marker)
		}
	}
	for _, m := range []string{"@user", "@pid", "@error_log", "@access_log", "@node", "@listen", "@listen_tls", "@cert", "@key"} {
		if seen[m] != 1 {
			t.Fatalf("deploy/nginx.conf: got %d lines marked %s, want 1", seen[m], m)
		}
	}
	if seen["@temp"] < 2 {
		t.Fatalf("deploy/nginx.conf: got %d lines marked @temp, want the temp paths", seen["@temp"])
	}
	return strings.Join(out, "\n")
}

// startNginx runs deploy/nginx.conf in front of nodes (host:port) on a
// random port below 32768, retrying when the port is taken. It is stopped
// (by pid) when the test ends.
func startNginx(t testing.TB, nodes ...string) *frontEnd {
	t.Helper()
	bin := nginxBinary(t)
	conf := deployConf(t)
	var lastErr error
	for attempt := 0; attempt < 8; attempt++ {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "temp"), 0o755); err != nil {
			t.Fatal(err)
		}
		port := 10000 + rand.IntN(22767)
		tlsPort := 10000 + rand.IntN(22767)
		if tlsPort == port {
			continue
		}
		writeCert(t, dir)
		path := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(path, []byte(render(t, conf, dir, port, tlsPort, nodes)), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := tryStart(t, bin, dir, path, port, tlsPort)
		if err == nil {
			return f
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("nginx did not start: %v", lastErr)
	return nil
}

var errPortTaken = errors.New("port taken")

func tryStart(t testing.TB, bin, dir, conf string, port, tlsPort int) (*frontEnd, error) {
	t.Helper()
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	f := &frontEnd{URL: fmt.Sprintf("http://127.0.0.1:%d", port), TLSURL: fmt.Sprintf("https://127.0.0.1:%d", tlsPort), Dir: dir, cmd: cmd}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			all := stderr.String() + string(log)
			if strings.Contains(all, "Address already in use") {
				return nil, errPortTaken
			}
			return nil, fmt.Errorf("nginx exited: %s", all)
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return nil, fmt.Errorf("nginx did not listen on %d within 15s", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("nginx (pid %d) did not stop within 10s of SIGTERM", cmd.Process.Pid)
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", lastLines(string(log), 40))
		}
	})
	// A port that answers may still be someone else's: ask for /health and
	// check that it is our nginx (Server: nginx) in front of our node.
	r, err := api.Try(context.Background(), nil, f.URL, http.MethodGet, "/health", "", nil)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(r.Header.Get("Server"), "nginx") {
		return nil, errPortTaken
	}
	return f, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
