package redis

import (
	"context"
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

	goredis "github.com/redis/go-redis/v9"
)

// MasterName is the name the Sentinels of a Group monitor.
const MasterName = "comet"

// Group is a replicated Redis under Sentinel, as PROTOCOL.md's "Redis
// deployments" asks of one that must survive the loss of its primary: a
// primary and two replicas (each with an fsynced append-only file) and
// three Sentinels with a quorum of two, all on 127.0.0.1. The Sentinels
// judge a primary down after a second without an answer, so that a test's
// failover takes seconds, not the default half minute.
type Group struct {
	t         testing.TB
	Servers   []*Server // Servers[0] is the first primary, the rest its replicas
	Sentinels []*Sentinel
}

// Sentinel is one Sentinel process.
type Sentinel struct {
	t      testing.TB
	dir    string
	Port   int
	Addr   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartGroup starts a primary, two replicas and three Sentinels, and waits
// until the replicas are in sync and every Sentinel knows both replicas and
// the two other Sentinels (so that a failover can be agreed on at once).
func StartGroup(t testing.TB) *Group {
	t.Helper()
	g := &Group{t: t}
	primary := startWith(t, []string{"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"})
	g.Servers = append(g.Servers, primary)
	for range 2 {
		g.Servers = append(g.Servers, startWith(t, []string{
			"--replicaof", "127.0.0.1", strconv.Itoa(primary.Port),
			"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
		}))
	}
	for range 3 {
		g.Sentinels = append(g.Sentinels, startSentinel(t, primary.Port))
	}
	g.waitReady(60 * time.Second)
	return g
}

// URL is the --redis-url that reaches the group through its Sentinels.
func (g *Group) URL() string {
	addrs := make([]string, len(g.Sentinels))
	for i, s := range g.Sentinels {
		addrs[i] = s.Addr
	}
	return "redis+sentinel://" + strings.Join(addrs, ",") + "/" + MasterName + "/0"
}

// Primary asks the Sentinels which server is the primary now: the Server
// at the address a majority of them names, and only once that server
// itself answers ROLE with "master". It returns nil when they do not (yet)
// agree.
func (g *Group) Primary() *Server {
	votes := map[string]int{}
	for _, s := range g.Sentinels {
		if addr, err := s.MasterAddr(); err == nil {
			votes[addr]++
		}
	}
	for addr, n := range votes {
		if n*2 <= len(g.Sentinels) {
			continue
		}
		for _, srv := range g.Servers {
			if srv.Addr == addr && srv.Running() && role(srv.Addr) == "master" {
				return srv
			}
		}
	}
	return nil
}

// WaitPromoted waits until the Sentinels agree on a primary other than old
// and it answers as one, and returns it. Promotion is allowed limit (30 s
// is what Sentinel may need on two busy cores, where it can enter TILT
// mode for a while).
func (g *Group) WaitPromoted(old *Server, limit time.Duration) *Server {
	g.t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if p := g.Primary(); p != nil && p != old {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	var logs []string
	for _, s := range g.Sentinels {
		logs = append(logs, s.Log())
	}
	g.t.Fatalf("testredis: no replica promoted within %v; Sentinel logs:\n%s", limit, strings.Join(logs, "\n----\n"))
	return nil
}

// waitReady waits until the primary has both replicas online and every
// Sentinel knows two replicas and two other Sentinels.
func (g *Group) waitReady(limit time.Duration) {
	g.t.Helper()
	deadline := time.Now().Add(limit)
	var why string
	for time.Now().Before(deadline) {
		if why = g.notReady(); why == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	g.t.Fatalf("testredis: the Sentinel group is not ready after %v: %s", limit, why)
}

func (g *Group) notReady() string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c := goredis.NewClient(&goredis.Options{Addr: g.Servers[0].Addr, MaxRetries: -1})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return "primary: " + err.Error()
	}
	if online := strings.Count(info, "state=online"); online < len(g.Servers)-1 {
		return fmt.Sprintf("primary: %d replicas online", online)
	}
	for i, s := range g.Sentinels {
		sc := goredis.NewSentinelClient(&goredis.Options{Addr: s.Addr, MaxRetries: -1})
		replicas, err1 := sc.Replicas(ctx, MasterName).Result()
		others, err2 := sc.Sentinels(ctx, MasterName).Result()
		sc.Close()
		if err1 != nil || err2 != nil {
			return fmt.Sprintf("sentinel %d: %v %v", i, err1, err2)
		}
		if len(replicas) < len(g.Servers)-1 || len(others) < len(g.Sentinels)-1 {
			return fmt.Sprintf("sentinel %d knows %d replicas and %d Sentinels", i, len(replicas), len(others))
		}
	}
	return ""
}

// role is the first word of ROLE's answer at addr ("" when unreachable).
func role(addr string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	v, err := c.Do(ctx, "ROLE").Slice()
	if err != nil || len(v) == 0 {
		return ""
	}
	s, _ := v[0].(string)
	return s
}

// startSentinel runs a Sentinel that monitors the primary on
// 127.0.0.1:primaryPort, on a random port below 32768 (retried).
func startSentinel(t testing.TB, primaryPort int) *Sentinel {
	t.Helper()
	s := &Sentinel{t: t, dir: t.TempDir()}
	bin := Binary(t)
	var last error
	for attempt := 0; attempt < 20; attempt++ {
		s.Port = 1024 + rand.IntN(32768-1024)
		if last = s.start(bin, primaryPort); last == nil {
			s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
			t.Cleanup(s.kill)
			return s
		}
	}
	t.Fatalf("cannot start a Sentinel after 20 ports: %v", last)
	return nil
}

func (s *Sentinel) start(bin string, primaryPort int) error {
	// Sentinel rewrites its configuration file, so it lives in the
	// Sentinel's own directory.
	conf := filepath.Join(s.dir, "sentinel.conf")
	text := fmt.Sprintf(`port %d
bind 127.0.0.1
protected-mode no
daemonize no
dir %s
logfile sentinel.log
sentinel monitor %s 127.0.0.1 %d 2
sentinel down-after-milliseconds %s 1000
sentinel failover-timeout %s 5000
sentinel parallel-syncs %s 2
`, s.Port, s.dir, MasterName, primaryPort, MasterName, MasterName, MasterName)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(s.dir, "sentinel.log"))
	s.cmd = exec.Command(bin, conf, "--sentinel")
	s.cmd.Dir = s.dir
	exited, err := startReady(s.cmd, "sentinel", s.Port, s.Log, func() bool {
		return strings.Contains(s.Log(), "+monitor master")
	})
	s.exited = exited
	if err != nil {
		s.kill()
	}
	return err
}

// MasterAddr is the primary's address as this Sentinel names it now.
func (s *Sentinel) MasterAddr() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	sc := goredis.NewSentinelClient(&goredis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: time.Second})
	defer sc.Close()
	v, err := sc.GetMasterAddrByName(ctx, MasterName).Result()
	if err != nil {
		return "", err
	}
	if len(v) != 2 {
		return "", fmt.Errorf("got %v, want host and port", v)
	}
	return net.JoinHostPort(v[0], v[1]), nil
}

// Log is the Sentinel's log so far.
func (s *Sentinel) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "sentinel.log"))
	return string(b)
}

func (s *Sentinel) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}
