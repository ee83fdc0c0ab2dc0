package redis

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// do sends one inline command and returns the first reply line.
func do(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(line, "$") && !strings.HasPrefix(line, "$-1") {
		line, _ = r.ReadString('\n')
	}
	return strings.TrimSpace(line)
}

func TestKillRestartKeepsAcknowledgedWrites(t *testing.T) {
	s := Start(t)
	if got := do(t, s.Addr, "CONFIG GET appendfsync"); got != "*2" {
		t.Fatalf("got %q, want a two-element reply", got)
	}
	if got := do(t, s.Addr, "INCRBY k 41"); got != ":41" {
		t.Fatalf("got %q, want :41", got)
	}
	pid := s.Pid()
	s.Kill()
	if s.Running() {
		t.Fatal("got running after Kill, want exited")
	}
	if ping(s.Addr) == nil {
		t.Fatal("got PONG after Kill, want no answer")
	}
	s.Restart()
	if s.Pid() == pid {
		t.Fatalf("got the same pid %d after Restart, want a new process", pid)
	}
	if got := do(t, s.Addr, "INCR k"); got != ":42" {
		t.Fatalf("got %q after kill and restart, want :42 (appendfsync always keeps it)", got)
	}
	s.Stop()
	s.Restart()
	if got := do(t, s.Addr, "GET k"); got != "42" {
		t.Fatalf("got %q after stop and restart, want 42", got)
	}
}

func TestTwoServersGetDifferentPorts(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Port == b.Port || a.Port >= 32768 || b.Port >= 32768 {
		t.Fatalf("got ports %d and %d, want two different ports below 32768", a.Port, b.Port)
	}
}
