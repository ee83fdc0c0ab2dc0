// Package redis starts a real redis-server for tests: on 127.0.0.1 and a
// random port below 32768 (retried when taken), with no RDB snapshots and an
// append-only file fsynced on every write in a directory under t.TempDir(),
// so that a restart on the same port and directory keeps every acknowledged
// write, as the deployment docs ask of production.
//
// StartGroup (sentinel.go) starts a primary, two replicas and three
// Sentinels, for the failover tests.
//
// A test whose redis-server is missing is skipped with a loud message, or
// fails when the environment variable CI=true. The server is stopped (by
// pid) when the test ends. A Server is used by one test goroutine at a time.
package redis

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is one redis-server process (or, after Kill or Stop, the place
// where one ran: Restart brings it back on the same port and directory).
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	Port int
	Addr string // 127.0.0.1:port
	URL  string // redis://127.0.0.1:port/0

	args []string // more arguments for redis-server (a replica's --replicaof)

	cmd    *exec.Cmd
	exited chan struct{}
}

// Binary returns the path of redis-server, or skips (fails with CI=true)
// when it is not installed.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		for _, c := range []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server"} {
			if _, e := os.Stat(c); e == nil {
				return c
			}
		}
		msg := "redis-server is not installed: the Redis tests DID NOT RUN (apt-get install redis-server, or make deps)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPED: " + msg)
	}
	return p
}

// Start runs a fresh redis-server and waits until it answers PING.
func Start(t testing.TB) *Server {
	t.Helper()
	return startWith(t, nil)
}

// StartReplica runs a fresh redis-server that replicates primary, and
// waits until it answers (not until it is in sync). The primary is told to
// start the first sync at once (repl-diskless-sync-delay 0, not 5 s).
func StartReplica(t testing.TB, primary *Server) *Server {
	t.Helper()
	if got := command(primary.Addr, "CONFIG SET repl-diskless-sync-delay 0"); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("testredis: CONFIG SET on the primary: got %q, want +OK", got)
	}
	return startWith(t, []string{"--replicaof", "127.0.0.1", strconv.Itoa(primary.Port)})
}

// command sends one inline command and returns the first reply line.
func command(addr, cmd string) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return err.Error()
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(line)
}

// startWith is Start with more redis-server arguments.
func startWith(t testing.TB, args []string) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), dir: t.TempDir(), args: args}
	var last error
	for attempt := 0; attempt < 20; attempt++ {
		s.Port = 1024 + rand.IntN(32768-1024)
		if last = s.start(); last == nil {
			s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
			s.URL = "redis://" + s.Addr + "/0"
			t.Cleanup(func() { s.Kill() })
			return s
		}
	}
	t.Fatalf("cannot start redis-server after 20 ports: %v", last)
	return nil
}

// start runs redis-server on s.Port and s.dir; an error means it did not
// come up (the port was probably taken).
func (s *Server) start() error {
	s.cmd = exec.Command(s.bin, append([]string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "yes",
		"--appendfsync", "always",
		"--daemonize", "no",
		"--protected-mode", "no",
		"--logfile", "redis.log",
	}, s.args...)...)
	s.cmd.Dir = s.dir
	// The log says when THIS process is ready; a PONG alone could come
	// from another test's server that holds the port.
	readyBefore := strings.Count(s.Log(), readyLine)
	exited, err := startReady(s.cmd, "redis-server", s.Port, s.Log, func() bool {
		return strings.Count(s.Log(), readyLine) > readyBefore
	})
	s.exited = exited
	if err != nil {
		s.kill()
	}
	return err
}

// startReady starts cmd, a daemon listening on port, and waits up to 15 s
// until ready says so and it answers PING; exited is closed when the
// process ends.
func startReady(cmd *exec.Cmd, what string, port int, log func() string, ready func() bool) (exited chan struct{}, err error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited = make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return exited, fmt.Errorf("%s on port %d exited at start:\n%s", what, port, log())
		default:
		}
		if ready() && ping(addr) == nil {
			return exited, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return exited, fmt.Errorf("%s on port %d did not come up within 15s:\n%s", what, port, log())
}

const readyLine = "Ready to accept connections"

// ping sends one inline PING and expects +PONG (also when still loading
// the append-only file, redis answers -LOADING: not ready).
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("got %q, want +PONG", strings.TrimSpace(line))
	}
	return nil
}

// Log is redis-server's log file so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	return string(b)
}

// Dir is the data directory (holding the append-only file).
func (s *Server) Dir() string { return s.dir }

// Pid is the running process's id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Running reports whether the process has not exited.
func (s *Server) Running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// Signal sends sig to redis-server (SIGSTOP stalls it, SIGCONT resumes it).
func (s *Server) Signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Errorf("testredis: signal %v to pid %d: %v", sig, s.Pid(), err)
	}
}

// Kill ends redis-server at once (SIGKILL to its pid), as a crash would.
// Safe to call when it is not running.
func (s *Server) Kill() { s.kill() }

// Stop ends redis-server with SIGTERM and waits (SIGKILL after 10s).
func (s *Server) Stop() {
	s.t.Helper()
	if !s.Running() {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.kill()
		s.t.Errorf("redis-server did not exit within 10s of SIGTERM")
	}
}

// Restart starts redis-server again on the same port and directory, after
// Kill or Stop, and waits until it answers. The port may briefly be in
// TIME_WAIT or taken: it retries for a while, then fails the test.
func (s *Server) Restart() {
	s.t.Helper()
	if s.Running() {
		s.t.Fatalf("redis: Restart while running (pid %d)", s.Pid())
	}
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redis: cannot restart on port %d: %v", s.Port, err)
}
