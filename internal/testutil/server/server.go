// Package server starts the real simple_comet binary for tests, as a
// user would: built once per test binary, run with --http-port=0 on
// 127.0.0.1, its port read from the "listening on ADDRESS" log line, and
// stopped with SIGTERM (by pid) when the test ends.
package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/simple_comet once (with -race when the tests run with
// it), for the platform the tests run on, into a temporary directory and
// returns its path. Set SIMPLE_COMET_BIN to test a binary built elsewhere.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SIMPLE_COMET_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "simple-comet-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "simple_comet")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/simple_comet")
		cmd := exec.Command("go", args...)
		cmd.Dir = moduleRoot()
		// Under an emulator (COMET_TEST_EXEC) the tests run for another
		// architecture than the go command's: build for theirs.
		cmd.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Main runs a package's tests and then removes the binary built for them.
// Call it from TestMain in every package that uses Start.
func Main(m *testing.M) int {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	return code
}

// MainNoLeaks is Main followed by a goroutine leak check (goleak): a
// package whose tests pass but leave goroutines behind fails. The after
// functions run before the check: they close what the package's tests
// shared (a browser started once for them).
func MainNoLeaks(m *testing.M, after ...func()) int {
	code := Main(m)
	for _, f := range after {
		f()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	return code
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Server is one running simple_comet process.
type Server struct {
	t    testing.TB
	cmd  *exec.Cmd
	Addr string // host:port
	URL  string // http://host:port
	Args []string

	mu     sync.Mutex
	log    bytes.Buffer
	exited chan struct{}
	exit   error
}

var listenRE = regexp.MustCompile(`listening on ([^\s"]+)`)

// Start runs the server with args (after --http-port=0 --bind=127.0.0.1,
// which args may override) and waits until it listens. It is stopped when
// the test ends.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	s := StartEnv(t, nil, args...)
	return s
}

// StartEnv is Start with extra environment variables (KEY=VALUE).
func StartEnv(t testing.TB, env []string, args ...string) *Server {
	t.Helper()
	all := append([]string{"--http-port=0", "--bind=127.0.0.1"}, args...)
	s := &Server{t: t, Args: all, exited: make(chan struct{})}
	s.cmd = command(context.Background(), Binary(t), all...)
	s.cmd.Env = append(os.Environ(), env...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout = io.Discard
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if m := listenRE.FindStringSubmatch(line); m != nil && !strings.HasPrefix(m[1], "/") {
				select {
				case addr <- strings.Trim(m[1], `"`):
				default:
				}
			}
		}
		s.exit = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { s.Stop() })
	select {
	case a := <-addr:
		_, port, _ := net.SplitHostPort(a)
		s.Addr = net.JoinHostPort("127.0.0.1", port)
		s.URL = "http://" + s.Addr
	case <-s.exited:
		t.Fatalf("simple_comet exited before listening: %v\n%s", s.exit, s.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("simple_comet did not listen within 30s\n%s", s.Log())
	}
	return s
}

// Command returns the command that runs the binary (Binary) with args,
// killed when ctx is done, for tests that run it themselves.
func Command(ctx context.Context, t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	return command(ctx, Binary(t), args...)
}

// command runs bin with args, through the emulator named by
// COMET_TEST_EXEC when it is set (e.g. qemu-aarch64-static, when the tests
// themselves run under it with go test -exec: a process under qemu-user
// cannot start a binary of its own architecture directly).
func command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	if emu := os.Getenv("COMET_TEST_EXEC"); emu != "" {
		return exec.CommandContext(ctx, emu, append([]string{bin}, args...)...)
	}
	return exec.CommandContext(ctx, bin, args...)
}

// Log is what the server wrote to stderr so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop sends SIGTERM and waits for the exit (killing after 10s). It returns
// the exit error (nil for status 0). Safe to call twice.
func (s *Server) Stop() error {
	select {
	case <-s.exited:
		return s.exit
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.t.Errorf("simple_comet did not exit within 10s of SIGTERM\n%s", s.Log())
	}
	return s.exit
}

// Signal sends sig to the server.
func (s *Server) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// Kill ends the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Exited is closed when the process has ended.
func (s *Server) Exited() <-chan struct{} { return s.exited }
