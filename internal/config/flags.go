package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrHelp and ErrVersion are returned by Parse when --help or --version was
// asked for: the caller prints and exits 0.
var (
	ErrHelp    = errors.New("help requested")
	ErrVersion = errors.New("version requested")
)

// EnvPrefix starts the environment variable of every switch.
const EnvPrefix = "SIMPLE_COMET_"

// EnvName is the environment variable read for a switch.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// seconds is a flag.Value for a duration given in (possibly fractional) seconds.
type seconds struct{ d *time.Duration }

func (s seconds) String() string {
	if s.d == nil {
		return ""
	}
	return strconv.FormatFloat(s.d.Seconds(), 'f', -1, 64)
}

func (s seconds) Set(v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e9 {
		return fmt.Errorf("want a number of seconds, got %q", v)
	}
	*s.d = time.Duration(f * float64(time.Second))
	return nil
}

// FlagSet binds every switch of c to a new flag set.
func FlagSet(c *Config) (*flag.FlagSet, *bool, *bool) {
	fs := flag.NewFlagSet("simple_comet", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&c.HTTPPort, "http-port", c.HTTPPort, "TCP port to listen to; 0 takes a free port")
	fs.StringVar(&c.Bind, "bind", c.Bind, "listen address (default: all interfaces)")
	fs.StringVar(&c.UnixSocketPath, "unix-socket-path", c.UnixSocketPath, "also listen on this Unix socket (only this one without an explicit --http-port)")
	fs.Var(seconds{&c.HTTPTimeout}, "http-timeout", "seconds a poll is held; idle keep-alive time")
	fs.Var(seconds{&c.RequestTimeout}, "request-timeout", "seconds a connection has to send a complete request")
	fs.Var(seconds{&c.SessionTimeout}, "session-timeout", "seconds after which an unread client expires")
	fs.Var(seconds{&c.InactiveChannelTimeout}, "inactive-channel-timeout", "seconds after which an unread channel is removed; 0 never")
	fs.IntVar(&c.MessagesPerChannel, "messages-per-channel", c.MessagesPerChannel, "default number of messages a channel keeps")
	fs.IntVar(&c.MessagesPerChannel, "max-messages-per-channel", c.MessagesPerChannel, "alias of --messages-per-channel")
	fs.IntVar(&c.MaxMessagesLimit, "max-messages-limit", c.MaxMessagesLimit, "largest max_messages a channel may ask for")
	fs.BoolVar(&c.QuoteJSON, "quote-json", c.QuoteJSON, "wrap JSON bodies in /*-secure- ... */")
	fs.BoolVar(&c.EnableStatus, "enable-status", c.EnableStatus, "serve /status.json, /stats.json and /status.html")
	fs.BoolVar(&c.EnableMetrics, "enable-metrics", c.EnableMetrics, "serve Prometheus metrics at /metrics")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "serve /metrics on this separate address instead")
	fs.BoolVar(&c.EnableDemo, "enable-demo", c.EnableDemo, "serve the demo pages under /demo/")
	fs.StringVar(&c.Secret, "secret", c.Secret, "publisher secret (prefer the environment variable)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", c.MaxBodyBytes, "request body limit in bytes")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", c.MaxHeaderBytes, "request line and headers limit in bytes")
	fs.IntVar(&c.MaxChannelsPerRead, "max-channels-per-read", c.MaxChannelsPerRead, "channels one read may name")
	fs.IntVar(&c.MaxChannelNameBytes, "max-channel-name-bytes", c.MaxChannelNameBytes, "longest channel name in bytes (at most 255)")
	fs.IntVar(&c.MaxChannels, "max-channels", c.MaxChannels, "registered channels at most")
	fs.IntVar(&c.MaxClients, "max-clients", c.MaxClients, "registered clients at most")
	fs.IntVar(&c.MaxConnections, "max-connections", c.MaxConnections, "open connections at most; beyond: 503 and close")
	fs.IntVar(&c.MaxHeldPolls, "max-held-polls", c.MaxHeldPolls, "held polls at most; 0: bounded by --max-connections")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "Redis engine URL (redis://HOST:PORT/DB, or redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER_NAME[/DB]); without it, the embedded engine")
	fs.IntVar(&c.RedisWaitReplicas, "redis-wait-replicas", c.RedisWaitReplicas, "acknowledge registrations, publishes and deletions only once this many Redis replicas have them (else -5)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", c.RedisPrefix, "Redis key namespace")
	fs.StringVar(&c.NodeID, "node-id", c.NodeID, "this node's name in status and logs (default: host name and pid)")
	fs.BoolVar(&c.LeanPolls, "lean-polls", c.LeanPolls, "hold polls on parked connections (no goroutine or buffers each) and serve plain requests on event loops; false: everything through net/http")
	fs.BoolVar(&c.IOUring, "io-uring", c.IOUring, "with --lean-polls, send each event loop's round of answers through io_uring in one system call where the kernel allows it (else one write each)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.BoolVar(&c.AccessLog, "access-log", c.AccessLog, "log one line per request (secrets redacted)")
	help := fs.Bool("help", false, "print this help and exit")
	version := fs.Bool("version", false, "print the version and exit")
	return fs, help, version
}

// Parse reads args (without the program name) and then, for every switch
// not given on the command line, its environment variable from getenv.
// It validates the result. --help and --version return ErrHelp and
// ErrVersion.
func Parse(args []string, getenv func(string) string) (Config, error) {
	c := Default()
	fs, help, version := FlagSet(&c)
	fs.Usage = func() {}
	if err := fs.Parse(joinBoolValues(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, ErrHelp
		}
		return c, err
	}
	if *help {
		return c, ErrHelp
	}
	if *version {
		return c, ErrVersion
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	aliases := map[string]string{"max-messages-per-channel": "messages-per-channel", "messages-per-channel": "max-messages-per-channel"}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if envErr != nil || set[f.Name] || set[aliases[f.Name]] || f.Name == "help" || f.Name == "version" {
			return
		}
		v, ok := lookup(getenv, EnvName(f.Name))
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErr = fmt.Errorf("invalid value %q for %s: %v", v, EnvName(f.Name), err)
			return
		}
		set[f.Name] = true
	})
	if envErr != nil {
		return c, envErr
	}
	c.HTTPPortSet = set["http-port"]
	if c.NodeID == "" {
		host, _ := os.Hostname()
		c.NodeID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// joinBoolValues lets booleans take the "--name value" form too:
// "--quote-json true" becomes "--quote-json=true". The flag package alone
// would take "true" for a stray argument, and there are no positional
// arguments to confuse it with.
func joinBoolValues(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") {
			return append(out, args[i:]...) // the flag package stops here too
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		f := fs.Lookup(name)
		if f == nil || i+1 >= len(args) { // unknown, "--name=value", or last
			out = append(out, a)
			continue
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
			out = append(out, a, args[i+1]) // a value flag and its value
			i++
			continue
		}
		if _, err := strconv.ParseBool(args[i+1]); err == nil {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

func lookup(getenv func(string) string, name string) (string, bool) {
	if getenv == nil {
		return "", false
	}
	v := getenv(name)
	return v, v != ""
}

// Usage writes the help text: every switch, its default and its variable.
func Usage(w io.Writer, version string) {
	c := Default()
	fs, _, _ := FlagSet(&c)
	fmt.Fprintf(w, "simple_comet %s: an HTTP long-polling publish/subscribe server\n\nUsage: simple_comet [switches]\n\n", version)
	var lines []string
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		arg := "--" + f.Name
		if name != "" {
			arg += "=" + name
		}
		if f.Name == "help" || f.Name == "version" {
			lines = append(lines, fmt.Sprintf("  %s\n        %s", arg, usage))
			return
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = " (default " + f.DefValue + ")"
		}
		lines = append(lines, fmt.Sprintf("  %s\n        %s%s [$%s]", arg, usage, def, EnvName(f.Name)))
	})
	sort.Strings(lines)
	fmt.Fprintln(w, strings.Join(lines, "\n"))
	fmt.Fprintf(w, "\nEvery switch can also be set from the environment variable in brackets;\na switch given on the command line wins. Both --name=value and --name value work.\n")
}
