#!/usr/bin/env bash
# Side-by-side comparison of Simple Comet ("ours") and nchan with 1 and 2
# nginx workers, on loopback. For every scenario and every run it starts a
# fresh server, runs cometload once, stops the server, and alternates
# ours, nchan-1w, nchan-2w; then `cometload summarize` prints the medians
# and the median (and range) of the per-run ratios ours ÷ nchan.
#
#   bench/run.sh                       # everything, RUNS=5
#   RUNS=3 SCENARIOS="fanout1k publish" bench/run.sh
#   SOAK=300s bench/run.sh soak        # only the soak run, one per server
#   SERVERS="ours ours-goroutines nchan-1w" bench/run.sh fanout1k
#                                      # ours-goroutines: --lean-polls=false
#                                      # ours-noring: --io-uring=false
#   ALT_BIN=/tmp/old SERVERS="ours ours-alt nchan-1w" bench/run.sh publish
#                                      # ours-alt: another build of ours
#                                      # (an earlier commit's, say) in the
#                                      # same alternation
#   SERVERS="ours-redis nchan-redis-1w" bench/run.sh fanout1k publish
#                                      # both on a fresh redis-server each
#                                      # run (no persistence), whose CPU
#                                      # counts as the server's
#                                      # (BASE=ours-redis for the ratios)
#
# Output: $OUT (default bench/out/DATE)/results.jsonl, summary.md, logs,
# and (PROFILE=1, the default) pprof profiles of ours in $OUT/prof.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-5}
RUN_FROM=${RUN_FROM:-1} # to add runs to an earlier OUT
SCENARIOS=${SCENARIOS:-"held10k held10k-distinct held18k fanout1k fanout5k publish churn"}
[ $# -gt 0 ] && SCENARIOS="$*"
SOAK=${SOAK:-180s}
PROFILE=${PROFILE:-1}
SERVERS=${SERVERS:-"ours nchan-1w nchan-2w"}
OUT=${OUT:-bench/out/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/prof"
OUT=$(cd "$OUT" && pwd)
BIN=$OUT/bin
mkdir -p "$BIN"

# The debug build adds only net/http/pprof on a second loopback port
# (cmd/simple_comet/pprof_debug.go): goroutine counts and profiles.
go build -o "$BIN/cometload" ./cmd/cometload
go build -tags cometpprof -o "$BIN/simple_comet" ./cmd/simple_comet
# OURS_BIN: measure another build of ours (e.g. an earlier commit's)
[ -n "${OURS_BIN:-}" ] && cp "$OURS_BIN" "$BIN/simple_comet"
[ -n "${ALT_BIN:-}" ] && cp "$ALT_BIN" "$BIN/simple_comet_alt"

free_port() { # a random free port below 32768
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo $p; return; fi
	done
	echo "no free port" >&2; exit 1
}

wait_port() {
	for _ in $(seq 100); do
		(exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nothing listens on $1" >&2; return 1
}

SERVER_PID=""
PORT=""
DEBUG=""
REDIS_PID=""
PIDS="" # what cometload counts: the server, and its redis-server

start_redis() { # a fresh redis-server for one run, on REDIS_PORT
	REDIS_PORT=$(free_port)
	local d=$OUT/redis-$REDIS_PORT
	mkdir -p "$d"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$d" --save "" --appendonly no \
		--daemonize no --protected-mode no --logfile "$d/redis.log" &
	REDIS_PID=$!
	wait_port "$REDIS_PORT"
}

stop_redis() {
	[ -n "$REDIS_PID" ] || return 0
	kill -TERM "$REDIS_PID" 2>/dev/null || true
	wait "$REDIS_PID" 2>/dev/null || true
	REDIS_PID=""
}

start_server() { # ours | nchan-1w | nchan-2w
	PORT=$(free_port)
	DEBUG=""
	case $1 in
	ours | ours-alt | ours-goroutines | ours-noring | ours-redis)
		# ours-goroutines: the transport with a goroutine per held poll;
		# ours-noring: parked connections without io_uring (a write and
		# a read each, as where io_uring is not allowed); ours-redis: the
		# Redis engine
		local extra=()
		[ "$1" = ours-goroutines ] && extra=(--lean-polls=false)
		[ "$1" = ours-noring ] && extra=(--io-uring=false)
		if [ "$1" = ours-redis ]; then
			start_redis
			extra=(--redis-url="redis://127.0.0.1:$REDIS_PORT/0")
		fi
		local bin=$BIN/simple_comet
		[ "$1" = ours-alt ] && bin=$BIN/simple_comet_alt
		DEBUG=127.0.0.1:$(free_port)
		SIMPLE_COMET_PPROF=$DEBUG "$bin" --http-port="$PORT" --bind=127.0.0.1 \
			--enable-status --http-timeout=120 --log-level=warn "${extra[@]}" 2>>"$OUT/ours.log" &
		SERVER_PID=$!
		;;
	nchan-*)
		local w=${1##*-}; w=${w%w}
		local p=$OUT/nginx-$1 tmpl=bench/nchan.conf.tmpl
		rm -rf "$p"; mkdir -p "$p/tmp"
		if [[ $1 == nchan-redis-* ]]; then
			start_redis
			tmpl=bench/nchan-redis.conf.tmpl
		fi
		sed -e "s#@PREFIX@#$p#g; s#@PORT@#$PORT#g; s#@WORKERS@#$w#g; s#@REDIS@#127.0.0.1:${REDIS_PORT:-0}#g" "$tmpl" >"$p/nginx.conf"
		nginx -p "$p" -c "$p/nginx.conf" 2>>"$OUT/nginx.log" &
		SERVER_PID=$!
		;;
	esac
	wait_port "$PORT"
	PIDS=$SERVER_PID
	[ -n "$REDIS_PID" ] && PIDS=$SERVER_PID,$REDIS_PID
	return 0
}

stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
	stop_redis
}
trap stop_server EXIT

args_for() { # scenario -> cometload arguments
	case $1 in
	held10k) echo "-scenario held -n 10000" ;;
	held10k-distinct) echo "-scenario held -n 10000 -distinct" ;;
	held18k) echo "-scenario held -n 18000 -per-process 9000" ;;
	held18k-hangup) echo "-scenario held -n 18000 -per-process 9000 -hang-up" ;; # the release as timed before set L
	fanout1k) echo "-scenario fanout -subscribers 1000 -rate 10 -messages 100" ;;
	fanout5k) echo "-scenario fanout -subscribers 5000 -rate 10 -messages 100" ;;
	publish) echo "-scenario publish -publishers 32 -channels 32 -duration 5s" ;;
	churn) echo "-scenario churn -subscribers 100 -rate 10 -messages 100 -churners 50" ;;
	soak) echo "-scenario soak -subscribers 200 -rate 10 -churners 50 -duration $SOAK -sample-every 15s" ;;
	*) echo "unknown scenario $1" >&2; exit 2 ;;
	esac
}

one() { # server scenario run
	start_server "$1"
	local dbg=()
	[ -n "$DEBUG" ] && dbg=(-debug-addr "$DEBUG" -profile-dir "$OUT/prof")
	# shellcheck disable=SC2046
	local proto=nchan
	[[ $1 == ours* ]] && proto=ours
	"$BIN/cometload" -server "$proto" -label "$1" -addr "127.0.0.1:$PORT" -server-pid "$PIDS" \
		-run "$3" "${dbg[@]}" $(args_for "$2") >>"$OUT/results.jsonl" 2>>"$OUT/tables.txt" || echo "cometload failed: $1 $2 run $3" >&2
	tail -n 1 "$OUT/results.jsonl"
	stop_server
}

for sc in $SCENARIOS; do
	if [ "$sc" = soak ]; then
		for s in $SERVERS; do one "$s" soak 1; done
		continue
	fi
	for run in $(seq "$RUN_FROM" "$RUNS"); do
		for s in $SERVERS; do
			echo "== $sc run $run/$RUNS: $s" >&2
			one "$s" "$sc" "$run"
		done
	done
done

if [ "$PROFILE" = 1 ] && [[ " $SCENARIOS " == *" fanout1k "* ]]; then
	# CPU and allocation profiles of ours under fan-out to 1,000 subscribers.
	start_server ours
	"$BIN/cometload" -server ours -label ours -addr "127.0.0.1:$PORT" -server-pid "$SERVER_PID" \
		-debug-addr "$DEBUG" -run 0 -scenario fanout -subscribers 1000 -rate 10 -messages 150 >/dev/null 2>&1 &
	LOAD=$!
	sleep 3
	curl -s -o "$OUT/prof/cpu-fanout1k.pb.gz" "http://$DEBUG/debug/pprof/profile?seconds=10"
	curl -s -o "$OUT/prof/allocs-fanout1k.pb.gz" "http://$DEBUG/debug/pprof/allocs"
	wait $LOAD || true
	stop_server
	start_server ours
	"$BIN/cometload" -server ours -label ours -addr "127.0.0.1:$PORT" -server-pid "$SERVER_PID" \
		-debug-addr "$DEBUG" -run 0 -scenario publish -publishers 32 -channels 32 -duration 8s >/dev/null 2>&1 &
	LOAD=$!
	sleep 1
	curl -s -o "$OUT/prof/cpu-publish.pb.gz" "http://$DEBUG/debug/pprof/profile?seconds=6"
	wait $LOAD || true
	stop_server
fi

"$BIN/cometload" summarize -base "${BASE:-ours}" "$OUT/results.jsonl" | tee "$OUT/summary.md"
echo "results in $OUT" >&2
