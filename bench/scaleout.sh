#!/usr/bin/env bash
# The scale-out figure of docs/PERFORMANCE.md: NODES (3) Simple Comet nodes
# sharing one redis-server hold PER_NODE (17,000) polls each, and one
# publish to the first node releases them all; against NODES nginx+nchan
# instances (one worker each, nchan_redis_pass) on one redis-server. A
# server process may open at most 20,000 files, so 50,000 polls need three.
#
# Every run starts a fresh redis-server (no persistence) and fresh servers,
# runs `cometload -scenario held -addrs ...` once, and stops them; the
# sides alternate (odd runs ours first, even runs nchan first). CPU and
# memory are summed over the servers' processes and redis-server's.
# `cometload summarize` then prints the medians and the median (and range)
# of the per-run ratios ours ÷ nchan, and a table of every run follows.
#
#   bench/scaleout.sh                      # RUNS=5, 3 × 17,000 polls
#   RUNS=1 PER_NODE=2000 bench/scaleout.sh # a smoke run
#
# Output: $OUT (default bench/out/scaleout-DATE)/results.jsonl, summary.md,
# logs, and a heap profile of the first node of ours in $OUT/prof.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
NODES=${NODES:-3}
PER_NODE=${PER_NODE:-17000}
PER_PROCESS=${PER_PROCESS:-9000} # client connections per client process
SIDES=${SIDES:-"ours nchan"}
N=$((NODES * PER_NODE))
OURS=ours-redis-${NODES}n
NCHAN=nchan-redis-${NODES}x1w
OUT=${OUT:-bench/out/scaleout-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/prof"
OUT=$(cd "$OUT" && pwd)
BIN=$OUT/bin
mkdir -p "$BIN"

if [ "$(ulimit -n)" -lt $((PER_NODE + 500)) ] || [ "$(ulimit -n)" -lt $((PER_PROCESS + 100)) ]; then
	echo "ulimit -n is $(ulimit -n): too few files for $PER_NODE polls a node and $PER_PROCESS a client process" >&2
	exit 1
fi

go build -o "$BIN/cometload" ./cmd/cometload
# the debug build: net/http/pprof on a loopback port of its own, so that
# the tool can force a GC before reading memory (as bench/run.sh)
go build -tags cometpprof -o "$BIN/simple_comet" ./cmd/simple_comet

TAKEN=" " # ports handed out in this run, some not listened on yet
FREE=""
free_port() { # FREE: a random free port below 32768, not handed out already
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 12000))
		[[ $TAKEN == *" $p "* ]] && continue
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			TAKEN="$TAKEN$p "
			FREE=$p
			return
		fi
	done
	echo "no free port" >&2
	exit 1
}

# wait_port PORT PID: until something listens on PORT; fails at once when
# PID has exited (a port taken meanwhile: the caller retries another).
wait_port() {
	for _ in $(seq 150); do
		(exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	echo "nothing listens on $1" >&2
	return 1
}

STARTED=() # every pid this script started and has not stopped
stop_pid() {
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
stop_all() { # the servers first, then their redis-server (started first)
	local i
	for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_pid "${STARTED[i]}"; done
	STARTED=()
	TAKEN=" "
}
trap stop_all EXIT

REDIS_PORT=""
REDIS_PID=""
start_redis() {
	local d
	for _ in 1 2 3; do
		free_port
		REDIS_PORT=$FREE
		d=$OUT/redis-$REDIS_PORT
		mkdir -p "$d"
		redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$d" --save "" --appendonly no \
			--daemonize no --protected-mode no --logfile "$d/redis.log" &
		REDIS_PID=$!
		STARTED+=("$REDIS_PID")
		wait_port "$REDIS_PORT" "$REDIS_PID" && return 0
		stop_pid "$REDIS_PID"
		unset 'STARTED[-1]'
	done
	echo "redis-server did not start" >&2
	return 1
}

ADDRS=""  # the nodes' host:port, comma-separated
PIDS=""   # what cometload counts: the nodes and redis-server
DEBUGS="" # ours: the nodes' pprof addresses

start_ours_node() { # i
	local port debug pid
	for _ in 1 2 3; do
		free_port
		port=$FREE
		free_port
		debug=127.0.0.1:$FREE
		SIMPLE_COMET_PPROF=$debug "$BIN/simple_comet" --http-port="$port" --bind=127.0.0.1 \
			--enable-status --http-timeout=120 --log-level=warn \
			--redis-url="redis://127.0.0.1:$REDIS_PORT/0" --node-id="node$1" >>"$OUT/ours-node$1.log" 2>&1 &
		pid=$!
		STARTED+=("$pid")
		if wait_port "$port" "$pid"; then
			ADDRS+=${ADDRS:+,}127.0.0.1:$port
			DEBUGS+=${DEBUGS:+,}$debug
			PIDS+=$pid,
			return 0
		fi
		stop_pid "$pid"
		unset 'STARTED[-1]'
	done
	echo "simple_comet node $1 did not start (see $OUT/ours-node$1.log)" >&2
	return 1
}

start_nchan_node() { # i
	local port pid p=$OUT/nginx-node$1
	for _ in 1 2 3; do
		free_port
		port=$FREE
		rm -rf "$p"
		mkdir -p "$p/tmp"
		sed -e "s#@PREFIX@#$p#g; s#@PORT@#$port#g; s#@WORKERS@#1#g; s#@REDIS@#127.0.0.1:$REDIS_PORT#g" \
			bench/nchan-redis.conf.tmpl >"$p/nginx.conf"
		nginx -p "$p" -c "$p/nginx.conf" 2>>"$OUT/nginx.log" &
		pid=$!
		STARTED+=("$pid")
		if wait_port "$port" "$pid"; then
			ADDRS+=${ADDRS:+,}127.0.0.1:$port
			PIDS+=$pid,
			return 0
		fi
		stop_pid "$pid"
		unset 'STARTED[-1]'
	done
	echo "nginx node $1 did not start (see $OUT/nginx.log)" >&2
	return 1
}

# quiet: on a shared machine, wait (at most 30 minutes) while another
# benchmark runs, so that neither measures the other's load
quiet() {
	local i
	for i in $(seq 180); do
		pgrep -f 'bench/run\.sh' >/dev/null || return 0
		[ "$i" = 1 ] && echo "waiting while bench/run.sh runs" >&2
		sleep 10
	done
	echo "bench/run.sh still runs after 30 minutes: going on" >&2
}

one() { # ours|nchan run
	quiet
	ADDRS="" PIDS="" DEBUGS=""
	start_redis
	local i label proto extra=()
	for i in $(seq 0 $((NODES - 1))); do "start_$1_node" "$i"; done
	PIDS+=$REDIS_PID
	if [ "$1" = ours ]; then
		label=$OURS proto=ours
		extra=(-debug-addr "$DEBUGS" -profile-dir "$OUT/prof")
	else
		label=$NCHAN proto=nchan
	fi
	echo "== run $2/$RUNS: $label, $N polls on $ADDRS" >&2
	# bounded: the tool gives up on its own within about four minutes
	timeout -k 10s 420s "$BIN/cometload" -server "$proto" -label "$label" -addrs "$ADDRS" -server-pid "$PIDS" \
		-run "$2" -scenario held -n "$N" -per-process "$PER_PROCESS" "${extra[@]}" \
		>>"$OUT/results.jsonl" 2>>"$OUT/tables.txt" || echo "cometload failed: $label run $2" >&2
	tail -n 1 "$OUT/results.jsonl"
	stop_all
}

for run in $(seq "$RUNS"); do
	order=$SIDES
	[ $((run % 2)) = 0 ] && order=$(echo "$SIDES" | awk '{for (i = NF; i > 0; i--) printf "%s ", $i}')
	for side in $order; do one "$side" "$run"; done
done

{
	"$BIN/cometload" summarize -base "$OURS" "$OUT/results.jsonl"
	echo
	echo "| run | server | held | released | not released | release ms | per node: held / released / release ms | release CPU µs/poll | RSS held MB | errors |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	jq -r --argjson nodes "$NODES" '
		. as $r
		| def n(k): ($r.metrics[k] // "–") | if type == "number" then (. * 10 | round / 10 | tostring) else . end;
		"| \($r.run) | \($r.server) | \(n("held")) | \(n("released")) | \(n("not_released")) | \(n("release_ms")) | "
		+ ([range($nodes) | "node\(.)" | "\(.): \(n(. + "_held")) / \(n(. + "_released")) / \(n(. + "_release_ms"))"] | join(", "))
		+ " | \(n("release_cpu_us_per_poll")) | \(n("rss_held_mb")) | \(n("errors"))\(if $r.errors then " " + ($r.errors | join("; ")) else "" end) |"
	' "$OUT/results.jsonl"
} | tee "$OUT/summary.md"
echo "results in $OUT" >&2
