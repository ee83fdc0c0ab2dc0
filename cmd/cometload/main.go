// Command cometload is the load tool of docs/PERFORMANCE.md: it drives a
// running Simple Comet server or an nchan (nginx) server on loopback with
// one scenario — held, fanout, publish, churn or soak — and prints one JSON
// line per run on stdout and a readable table on stderr.
//
//	cometload -server ours -addr 127.0.0.1:8080 -server-pid 1234 -scenario fanout -subscribers 1000
//	cometload summarize results.jsonl   # medians and ratios, as markdown
//
// "cometload child-held ..." is the client process the held scenario forks
// for every 9,000 connections (the open-files limit is per process).
//
//	cometload -server ours -addrs 127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8083 -server-pid 1,2,3,4 -scenario held -n 51000
//
// spreads the held polls over three nodes sharing one engine (bench/scaleout.sh).
//
// Every scenario is bounded in count and in time. Each simulated client is
// one goroutine owning one keep-alive TCP connection (a minimal HTTP/1.1
// client, so that source addresses can be chosen and the client stays
// cheap); results are merged under a mutex or after the goroutines end. The
// server's CPU and memory are read from /proc.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "child-held" {
		if err := HeldChild(args[1:], os.Stdin, stdout); err != nil {
			fmt.Fprintln(stderr, "cometload:", err)
			return 1
		}
		return 0
	}
	if len(args) > 0 && args[0] == "summarize" {
		return summarize(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("cometload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		server    = fs.String("server", "ours", "protocol: ours or nchan")
		addr      = fs.String("addr", "127.0.0.1:8080", "server host:port (loopback)")
		addrs     = fs.String("addrs", "", "held: several nodes sharing one engine, host:port comma-separated (instead of -addr); the polls are spread evenly over them, the publish goes to the first")
		label     = fs.String("label", "", "server name in reports (default: -server)")
		pids      = fs.String("server-pid", "", "server pid(s), comma-separated; their children count too (nginx workers)")
		debugAddr = fs.String("debug-addr", "", "host:port of net/http/pprof in a debug build (goroutines, forced GC); with -addrs, one per node, comma-separated")
		scenario  = fs.String("scenario", "fanout", "held, fanout, publish, churn or soak")
		profDir   = fs.String("profile-dir", "", "with -debug-addr: save a heap profile while polls are held (held)")
		runNo     = fs.Int("run", 0, "run number, to pair alternating runs in summarize")
		sources   = fs.Int("sources", 4, "client source addresses 127.0.0.2 ... for subscribers")

		n          = fs.Int("n", 10000, "held: polls")
		distinct   = fs.Bool("distinct", false, "held: one channel per poll")
		perProcess = fs.Int("per-process", 9000, "held: connections per client process")
		hangUp     = fs.Bool("hang-up", false, "held: clients hang up as soon as they have their answer, during the release (the tool's way before 4338298)")

		subs      = fs.Int("subscribers", 1000, "fanout/churn/soak: subscribers")
		messages  = fs.Int("messages", 100, "fanout/churn: messages")
		rate      = fs.Float64("rate", 10, "fanout/churn/soak: messages per second")
		size      = fs.Int("size", 64, "message bytes")
		churners  = fs.Int("churners", 50, "churn/soak: concurrent clients that poll and hang up")
		churnHold = fs.Duration("churn-hold", 200*time.Millisecond, "churn/soak: longest a churner waits before hanging up")
		duration  = fs.Duration("duration", 10*time.Second, "publish: time limit; soak: length (at most 30m)")
		every     = fs.Duration("sample-every", 10*time.Second, "soak: reading interval")

		publishers = fs.Int("publishers", 32, "publish: concurrent publishers")
		count      = fs.Int("count", 200000, "publish: publishes at most")
		channels   = fs.Int("channels", 32, "publish: channels the publishers spread over")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	proto, err := NewProtocol(*server)
	if err != nil {
		fmt.Fprintln(stderr, "cometload:", err)
		return 2
	}
	roots, err := ParsePids(*pids)
	if err != nil {
		fmt.Fprintln(stderr, "cometload:", err)
		return 2
	}
	nodes, err := ParseAddrs(*addrs)
	if err == nil && len(nodes) > 0 && *scenario != "held" {
		err = fmt.Errorf("-addrs is for the held scenario, not %s", *scenario)
	}
	if err != nil {
		fmt.Fprintln(stderr, "cometload:", err)
		return 2
	}
	debugs, err := ParseAddrs(*debugAddr)
	if want := max(len(nodes), 1); err == nil && len(debugs) > 0 && len(debugs) != want {
		err = fmt.Errorf("%d -debug-addr addresses for %d nodes, want one each", len(debugs), want)
	}
	if err != nil {
		fmt.Fprintln(stderr, "cometload:", err)
		return 2
	}
	if *label == "" {
		*label = *server
	}
	e := &Env{
		Proto: proto, Addr: *addr, Label: *label, Procs: Procs{Roots: roots},
		Prefix: "b" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-",
		Log:    stderr, Run: *runNo, ProfileDir: *profDir,
	}
	if len(nodes) > 0 {
		e.Addr, e.Addrs = nodes[0], nodes
	}
	if len(debugs) > 0 {
		e.DebugAddr = debugs[0]
		if len(debugs) > 1 {
			e.DebugAddrs = debugs
		}
	}
	for i := range *sources {
		e.Sources = append(e.Sources, fmt.Sprintf("127.0.0.%d", 2+i))
	}
	var res *Result
	switch *scenario {
	case "held":
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(stderr, "cometload:", err)
			return 1
		}
		res = Held(e, HeldOptions{N: *n, Distinct: *distinct, PerProcess: *perProcess, HangUp: *hangUp, Self: self})
	case "fanout":
		res = Fanout(e, "fanout", FanoutOptions{Subscribers: *subs, Messages: *messages, Rate: *rate, Size: *size})
	case "churn":
		res = Fanout(e, "churn", FanoutOptions{Subscribers: *subs, Messages: *messages, Rate: *rate, Size: *size, Churners: *churners, ChurnHold: *churnHold})
	case "soak":
		d := min(*duration, 30*time.Minute)
		res = Fanout(e, "soak", FanoutOptions{Subscribers: *subs, Messages: max(1, int(d.Seconds()**rate)), Rate: *rate, Size: *size, Churners: *churners, ChurnHold: *churnHold, SampleEvery: *every})
	case "publish":
		res = Publish(e, PublishOptions{Publishers: *publishers, Count: *count, Duration: min(*duration, 10*time.Minute), Channels: *channels, Size: *size})
	default:
		fmt.Fprintf(stderr, "cometload: unknown scenario %q\n", *scenario)
		return 2
	}
	fmt.Fprintf(stdout, "%s\n", res.JSON())
	res.Table(stderr)
	return 0
}

func summarize(files []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("summarize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", "ours", "the server the ratios are of")
	if err := fs.Parse(files); err != nil {
		return 2
	}
	var all []Result
	for _, f := range fs.Args() {
		fh, err := os.Open(f)
		if err != nil {
			fmt.Fprintln(stderr, "cometload:", err)
			return 1
		}
		rs, err := ReadResults(fh)
		fh.Close()
		if err != nil {
			fmt.Fprintf(stderr, "cometload: %s: %v\n", f, err)
			return 1
		}
		all = append(all, rs...)
	}
	Summarize(all, *base, stdout)
	return 0
}
