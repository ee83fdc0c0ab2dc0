package redisengine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// SentinelScheme starts a --redis-url that names Sentinels instead of a
// Redis server.
const SentinelScheme = "redis+sentinel://"

// sentinelURL is a parsed redis+sentinel:// URL:
// redis+sentinel://[USER:PASS@]HOST:PORT[,HOST:PORT…]/MASTER_NAME[/DB]
// with the optional query parameters sentinel_username and
// sentinel_password.
type sentinelURL struct {
	addrs                      []string
	master                     string
	db                         int
	user, pass                 string // for the primary and the replicas
	sentinelUser, sentinelPass string // for the Sentinels
}

// parseSentinelURL parses a redis+sentinel:// URL. Its host list is not a
// single host, so net/url cannot parse it whole.
func parseSentinelURL(s string) (sentinelURL, error) {
	var u sentinelURL
	rest, ok := strings.CutPrefix(s, SentinelScheme)
	if !ok {
		return u, fmt.Errorf("want %sHOST:PORT[,HOST:PORT...]/MASTER_NAME[/DB]", SentinelScheme)
	}
	rest, query, _ := strings.Cut(rest, "?")
	hosts, path, _ := strings.Cut(rest, "/")
	if at := strings.LastIndexByte(hosts, '@'); at >= 0 {
		user, pass, hasPass := strings.Cut(hosts[:at], ":")
		var err1, err2 error
		u.user, err1 = url.PathUnescape(user)
		if hasPass {
			u.pass, err2 = url.PathUnescape(pass)
		}
		if err1 != nil || err2 != nil {
			return u, errors.New("invalid user or password encoding")
		}
		hosts = hosts[at+1:]
	}
	for _, h := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return u, fmt.Errorf("invalid Sentinel address %q: want HOST:PORT", h)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return u, fmt.Errorf("invalid Sentinel port in %q", h)
		}
		u.addrs = append(u.addrs, net.JoinHostPort(host, port))
	}
	parts := strings.Split(path, "/")
	if len(parts) > 2 || parts[0] == "" {
		return u, errors.New("want /MASTER_NAME[/DB] after the Sentinel addresses")
	}
	var err error
	if u.master, err = url.PathUnescape(parts[0]); err != nil || u.master == "" {
		return u, errors.New("invalid master name")
	}
	if len(parts) == 2 {
		if u.db, err = strconv.Atoi(parts[1]); err != nil || u.db < 0 {
			return u, fmt.Errorf("invalid database number %q", parts[1])
		}
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return u, fmt.Errorf("invalid query: %v", err)
	}
	for k, v := range q {
		switch k {
		case "sentinel_username":
			u.sentinelUser = v[0]
		case "sentinel_password":
			u.sentinelPass = v[0]
		default:
			return u, fmt.Errorf("unknown query parameter %q (sentinel_username and sentinel_password are known)", k)
		}
	}
	return u, nil
}

// newClient builds the go-redis client for a --redis-url: a plain client,
// or for redis+sentinel:// a failover client that asks the Sentinels for
// the primary on every new connection and drops its connections to an old
// primary when they announce a switch. Neither retries a command (a
// publish retried after a lost reply would be stored twice: MaxRetries -1,
// the Sentinel client included), both bound every dial and command by
// opTimeout, and both check on each new connection that the server is a
// primary (ROLE), so that nothing is ever read from or written to a
// replica, or to a restarted old primary that Sentinel has just demoted.
func newClient(rawURL string, opTimeout time.Duration) (*goredis.Client, error) {
	dial := min(opTimeout, time.Second)
	if strings.HasPrefix(rawURL, SentinelScheme) {
		su, err := parseSentinelURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("--redis-url: %v", err)
		}
		return goredis.NewFailoverClient(&goredis.FailoverOptions{
			MasterName:            su.master,
			SentinelAddrs:         su.addrs,
			SentinelUsername:      su.sentinelUser,
			SentinelPassword:      su.sentinelPass,
			Username:              su.user,
			Password:              su.pass,
			DB:                    su.db,
			OnConnect:             onConnect(true),
			MaxRetries:            -1,
			DialTimeout:           dial,
			DialerRetries:         1,
			ReadTimeout:           opTimeout,
			WriteTimeout:          opTimeout,
			PoolTimeout:           opTimeout,
			ContextTimeoutEnabled: true,
			PipelinePoolSize:      -1,
			DisableIdentity:       true,
		}), nil
	}
	ro, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url: %v", err)
	}
	ro.OnConnect = onConnect(false)
	ro.MaxRetries = -1
	ro.DialTimeout = dial
	ro.DialerRetries = 1
	ro.ReadTimeout = opTimeout
	ro.WriteTimeout = opTimeout
	ro.PoolTimeout = opTimeout
	ro.ContextTimeoutEnabled = true
	ro.PipelinePoolSize = -1
	ro.DisableIdentity = true
	return goredis.NewClient(ro), nil
}

// errNotPrimary refuses a connection to a server that is not a primary.
var errNotPrimary = errors.New("redisengine: the server is not a primary (ROLE)")

// onConnect returns the check run on every new connection: ROLE, refusing
// the connection unless the server answers "master", and in the same round
// trip SCRIPT LOAD of every script, so that EVALSHA finds them on a new
// primary (a promoted replica's script cache is empty) and the NOSCRIPT
// fallback stays the exception. go-redis runs the same hook on its own
// connections to the Sentinels (which answer "sentinel"): with sentinels
// true those are let through unchanged.
func onConnect(sentinels bool) func(ctx context.Context, cn *goredis.Conn) error {
	return func(ctx context.Context, cn *goredis.Conn) error {
		v, err := cn.Do(ctx, "ROLE").Slice()
		if err != nil {
			return fmt.Errorf("ROLE: %w", err)
		}
		role := ""
		if len(v) > 0 {
			role, _ = v[0].(string)
		}
		switch {
		case role == "sentinel" && sentinels:
			return nil
		case role != "master":
			return fmt.Errorf("%w: %q", errNotPrimary, role)
		}
		_, err = cn.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, s := range allScripts {
				p.ScriptLoad(ctx, s.src)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("SCRIPT LOAD: %w", err)
		}
		return nil
	}
}
