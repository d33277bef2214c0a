#!/usr/bin/env bash
# vs-redis.sh: benchmark the kvring server side by side with redis-server on this machine.
#
# What it measures:
#   1. redis-benchmark against redis-server and against kvring, alternating A B A B ... for
#      --rounds rounds, for each test (SET, GET) at pipeline 1 and 16, 50 connections,
#      keys drawn from a keyspace of 100000 (-r). For every run it records
#        - ops/s and avg/p50/p99 latency, from redis-benchmark's --csv line;
#        - the SERVER's CPU time per request: utime+stime (fields 14 and 15 of /proc/<pid>/stat,
#          clock ticks, `getconf CLK_TCK`), read before and after the run, divided by requests.
#          The tick is 10 ms at CLK_TCK=100, so use N large enough (defaults are);
#        - redis-benchmark's own CPU per request (user+sys from bash's `time`, i.e. getrusage of
#          the child).
#      Each test is its own redis-benchmark invocation (-t set, then -t get) so that the server
#      CPU of each test can be told apart; GET follows SET on the same server, so GETs hit.
#   2. Optionally (--memtier, with MEMTIER=/path/to/memtier_benchmark) the same with
#      memtier_benchmark: -t 1 -c 50 --ratio=1:1 --pipeline=1|16 --test-time=10, keys limited
#      to memtier-1..memtier-100000 (--key-minimum/--key-maximum). Preload: before the first
#      memtier run on each server, memtier itself writes every key of that range once
#      (--ratio=1:0 --key-pattern=P:P -n allkeys, 32-byte values, the same size the runs use),
#      so nearly all GETs of the runs hit (memtier's default range is 10M keys: they would miss).
#   3. Memory: on a FRESH redis-server and a FRESH kvring, load 1M keys of 16 bytes
#      ("key:%012d", the same shape as redis-benchmark's key:__rand_int__) with 100-byte values,
#      then report kvring RSS (VmRSS and VmHWM from /proc/<pid>/status) against redis-server's
#      used_memory (INFO memory) and RSS. The default loader is a tiny inline Node client that
#      pipelines SETs of key:000000000000 .. key:000000999999, so exactly --mem-keys distinct
#      keys are stored; MEM_LOADER=redis-benchmark uses `redis-benchmark -t set -n N -r N -d 100
#      -P 16` instead (random keys: only ~63 % of N are distinct, DBSIZE is reported).
#
# It prints markdown tables of medians per (tool, test, pipeline, server) with the ratios
# kvring/redis, and writes every raw run to a CSV (default under /tmp, never inside the repo)
# plus <out>-memory.csv and <out>.md next to it.
# Noise: the machine is a shared 2-vCPU box. Quote medians and ratios, not single absolute
# numbers; CPU µs/op is steadier than ops/s. No CPU pinning is done: the scheduler places
# client and server freely (mostly on different vCPUs).
#
# What kvring must answer: PING (readiness), SET, GET, and CONFIG GET save / CONFIG GET
# appendonly, which redis-benchmark sends on a side connection before each test and waits on
# forever (RUN_TIMEOUT bounds each run); DBSIZE is used for the memory table when answered.
# At pipeline 16 redis-benchmark gives all requests of a batch one latency: read p50 there as
# batch latency. Run time with defaults: about 1 min per 3 rounds of redis-benchmark, plus
# 2 x 2 x rounds x 10 s with --memtier, plus ~20 s for the memory figure.
#
# Everything it starts (redis-server, kvring, benchmark tools) is stopped on exit, on error and
# on Ctrl-C; its temporary folders are removed. Servers listen on 127.0.0.1 only, on free ports.
#
# Rerun (from the repository root, after `npm run build`):
#   scripts/vs-redis.sh                                   # 3 rounds, redis-benchmark + memory
#   MEMTIER=/path/to/memtier_benchmark scripts/vs-redis.sh --memtier
#   scripts/vs-redis.sh --rounds 1 --n1 50000 --n16 200000 --mem-keys 100000   # quick look
# Noise-floor check (redis against redis, no kvring needed):
#   KVRING_CMD="redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no --dir {dir}" \
#     scripts/vs-redis.sh --rounds 1
# `scripts/vs-redis.sh --help` lists every option and environment variable.

set -Eeuo pipefail

PROG=vs-redis
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<EOF
Usage: scripts/vs-redis.sh [options]

Options (environment variable in brackets, default after =):
  --rounds N          alternating rounds                      [ROUNDS=3]
  --n1 N              requests per test at pipeline 1          [N_P1=300000]
  --n16 N             requests per test at pipeline 16         [N_P16=1000000]
  --keyspace K        redis-benchmark -r K; 0 = no -r (one literal key, 3-byte value)
                                                               [KEYSPACE=100000]
  --clients C         connections (-c)                         [CLIENTS=50]
  --tests LIST        redis-benchmark tests, comma separated   [TESTS=set,get]
  --pipelines LIST    pipeline depths, comma separated         [PIPELINES=1,16]
  --out FILE          raw CSV of every run (not inside the repo)
                                                               [OUT=/tmp/kvring-vs-redis-<time>.csv]
  --memtier           also run memtier_benchmark (binary from MEMTIER=/path)
  --memtier-time S    memtier --test-time                      [MEMTIER_TIME=10]
  --memtier-keys K    memtier key range 1..K, preloaded        [MEMTIER_KEYS=100000]
  --mem-keys N        keys loaded for the memory figure        [MEM_KEYS=1000000]
  --mem-value B       value size in bytes for the memory figure [MEM_VALUE=100]
  --no-memory         skip the memory figure
  --no-bench          skip the redis-benchmark runs
  -h, --help          this text

Other environment:
  KVRING_CMD      command that starts kvring in the foreground; {port} and {dir} are replaced.
                  Run from the repository root, in its own session (setsid).
                  Default: node dist/server/main.js --port {port} --dir {dir} --snapshot-interval 0
  MEM_LOADER      node (default: exact sequential keys) or redis-benchmark (random keys)
  RUN_TIMEOUT     seconds before one benchmark run is abandoned        (default 900)
  START_TIMEOUT   seconds to wait for a server to answer PING          (default 30)
EOF
}

# ---------------------------------------------------------------- configuration
ROUNDS=${ROUNDS:-3}
N_P1=${N_P1:-300000}
N_P16=${N_P16:-1000000}
KEYSPACE=${KEYSPACE:-100000}
CLIENTS=${CLIENTS:-50}
TESTS=${TESTS:-set,get}
PIPELINES=${PIPELINES:-1,16}
OUT=${OUT:-/tmp/kvring-vs-redis-$(date +%Y%m%d-%H%M%S).csv}
USE_MEMTIER=0
MEMTIER=${MEMTIER:-}
MEMTIER_TIME=${MEMTIER_TIME:-10}
MEMTIER_KEYS=${MEMTIER_KEYS:-100000}
MEM_KEYS=${MEM_KEYS:-1000000}
MEM_VALUE=${MEM_VALUE:-100}
MEM_LOADER=${MEM_LOADER:-node}
DO_MEMORY=1
DO_BENCH=1
RUN_TIMEOUT=${RUN_TIMEOUT:-900}
START_TIMEOUT=${START_TIMEOUT:-30}
KVRING_CMD_DEFAULT='node dist/server/main.js --port {port} --dir {dir} --snapshot-interval 0'
KVRING_CMD=${KVRING_CMD:-$KVRING_CMD_DEFAULT}

die() { echo "$PROG: $*" >&2; exit 2; }
log() { echo "[$PROG $(date +%H:%M:%S)] $*" >&2; }
need_value() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value (see --help)"; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) need_value "$@"; ROUNDS=$2; shift 2 ;;
    --n1) need_value "$@"; N_P1=$2; shift 2 ;;
    --n16) need_value "$@"; N_P16=$2; shift 2 ;;
    --keyspace) need_value "$@"; KEYSPACE=$2; shift 2 ;;
    --clients) need_value "$@"; CLIENTS=$2; shift 2 ;;
    --tests) need_value "$@"; TESTS=$2; shift 2 ;;
    --pipelines) need_value "$@"; PIPELINES=$2; shift 2 ;;
    --out) need_value "$@"; OUT=$2; shift 2 ;;
    --memtier) USE_MEMTIER=1; shift ;;
    --memtier-time) need_value "$@"; MEMTIER_TIME=$2; shift 2 ;;
    --memtier-keys) need_value "$@"; MEMTIER_KEYS=$2; shift 2 ;;
    --mem-keys) need_value "$@"; MEM_KEYS=$2; shift 2 ;;
    --mem-value) need_value "$@"; MEM_VALUE=$2; shift 2 ;;
    --no-memory) DO_MEMORY=0; shift ;;
    --no-bench) DO_BENCH=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
for v in ROUNDS N_P1 N_P16 KEYSPACE CLIENTS MEMTIER_TIME MEMTIER_KEYS MEM_KEYS MEM_VALUE RUN_TIMEOUT START_TIMEOUT; do
  is_uint "${!v}" || die "$v must be a non-negative integer (got '${!v}')"
done
((ROUNDS >= 1)) || die "ROUNDS must be >= 1"
((MEM_KEYS > 0)) || DO_MEMORY=0
IFS=', ' read -r -a TEST_LIST <<<"$TESTS"
IFS=', ' read -r -a PIPE_LIST <<<"$PIPELINES"
for p in "${PIPE_LIST[@]}"; do is_uint "$p" && ((p >= 1)) || die "bad pipeline depth '$p'"; done
for t in "${TEST_LIST[@]}"; do [[ $t =~ ^[a-z_]+$ ]] || die "bad test name '$t'"; done

# ---------------------------------------------------------------- prerequisites
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "$tool not found; install with: apt-get install redis-server redis-tools"
done
for tool in getconf awk ss setsid timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (needed to run and measure the servers)"
done
CLK_TCK=$(getconf CLK_TCK)
if ((USE_MEMTIER)); then
  [[ -n $MEMTIER ]] || die "--memtier needs MEMTIER=/path/to/memtier_benchmark"
  [[ -x $MEMTIER ]] || die "MEMTIER=$MEMTIER is not an executable file"
  command -v node >/dev/null 2>&1 || die "node is needed to read memtier's JSON output"
fi
if ((DO_MEMORY)) && [[ $MEM_LOADER == node ]] && ! command -v node >/dev/null 2>&1; then
  log "node not found: memory figure falls back to MEM_LOADER=redis-benchmark"
  MEM_LOADER=redis-benchmark
fi
[[ $MEM_LOADER == node || $MEM_LOADER == redis-benchmark ]] || die "MEM_LOADER must be node or redis-benchmark"
if [[ $KVRING_CMD == "$KVRING_CMD_DEFAULT" && ! -f $REPO_ROOT/dist/server/main.js ]]; then
  die "kvring server not built ($REPO_ROOT/dist/server/main.js missing): run 'npm run build' first, or set KVRING_CMD"
fi

# Raw output: never inside the repository.
OUT_DIR=$(dirname -- "$OUT")
mkdir -p -- "$OUT_DIR" || die "cannot create $OUT_DIR"
OUT_DIR=$(cd -- "$OUT_DIR" && pwd -P)
OUT="$OUT_DIR/$(basename -- "$OUT")"
REPO_REAL=$(cd "$REPO_ROOT" && pwd -P)
case "$OUT_DIR/" in "$REPO_REAL"/*) die "--out must be outside the repository ($REPO_REAL); e.g. /tmp/x.csv" ;; esac
OUT_BASE=${OUT%.csv}
OUT_MEM="$OUT_BASE-memory.csv"
OUT_MD="$OUT_BASE.md"

# ---------------------------------------------------------------- process bookkeeping
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vs-redis.XXXXXX")
declare -a STARTED=()     # entries "kind:pid" — kind is redis (daemon) or group (setsid leader)

is_alive() {   # a zombie counts as gone
  local pid=$1 st
  [[ -r /proc/$pid/stat ]] || return 1
  st=$(</proc/"$pid"/stat) || return 1
  st=${st##*) }
  [[ ${st:0:1} != Z ]]
}

stop_entry() {
  local kind=${1%%:*} pid=${1#*:} i
  is_alive "$pid" || { wait "$pid" 2>/dev/null || true; forget "$1"; return 0; }
  if [[ $kind == group ]]; then kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  else kill -TERM "$pid" 2>/dev/null || true; fi
  for ((i = 0; i < 50; i++)); do is_alive "$pid" || break; sleep 0.1; done
  if is_alive "$pid"; then
    log "pid $pid ignored SIGTERM; sending SIGKILL"
    if [[ $kind == group ]]; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget "$1"
}

forget() {   # drop an entry from STARTED so that a later reuse of its pid is never signalled
  local e keep=()
  for e in "${STARTED[@]}"; do [[ $e == "$1" ]] || keep+=("$e"); done
  STARTED=("${keep[@]}")
}

stop_all() {
  local e all=("${STARTED[@]}")
  for e in "${all[@]}"; do stop_entry "$e"; done
  STARTED=()
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_all
  [[ -n ${WORK:-} && -d $WORK ]] && rm -rf -- "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM
trap 'log "error at line $LINENO: $BASH_COMMAND"' ERR

# ---------------------------------------------------------------- helpers
# Ports are drawn below the kernel's ephemeral range (client sockets live there) and must not
# appear in any TCP socket; a start that still loses the race for the port is retried.
read -r EPH_LOW _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || EPH_LOW=32768
if ((EPH_LOW > 12000)); then PORT_LO=10000 PORT_SPAN=$((EPH_LOW - 10000)); else PORT_LO=61000 PORT_SPAN=4000; fi
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((PORT_LO + (RANDOM * 32768 + RANDOM) % PORT_SPAN))
    [[ -z $(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null) ]] || continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    echo "$p"; return 0
  done
  die "no free port found"
}

listener_pid() {  # pid owning the listening socket on 127.0.0.1:<port>, if ss can tell
  { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; } || true
}

wait_pong() {   # port watched-pid ; returns 0 PONG, 1 process exited, 2 timeout
  local port=$1 pid=$2 deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]; then return 0; fi
    if [[ -n $pid ]] && ! is_alive "$pid"; then return 1; fi
    sleep 0.1
  done
  return 2
}

port_clash() { grep -qiE 'address already in use|EADDRINUSE' "$1" 2>/dev/null; }

# start_redis <tag>: sets SRV_PORT SRV_PID
start_redis() {
  local tag=$1 dir="$WORK/$1" port pid i attempt rc
  mkdir -p "$dir"
  for ((attempt = 1; attempt <= 5; attempt++)); do
    port=$(free_port)
    rm -f "$dir/redis.pid" "$dir/redis.log"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log" \
      || die "redis-server failed to start (see above)"
    for ((i = 0; i < 200; i++)); do
      [[ -s $dir/redis.pid ]] && break
      grep -q 'aborting' "$dir/redis.log" 2>/dev/null && break
      sleep 0.05
    done
    if [[ -s $dir/redis.pid ]]; then
      pid=$(<"$dir/redis.pid")
      STARTED+=("redis:$pid")
      rc=0; wait_pong "$port" "$pid" || rc=$?
      if ((rc == 0)); then
        SRV_PORT=$port SRV_PID=$pid
        log "$tag: redis-server pid $pid on 127.0.0.1:$port"
        return 0
      fi
      stop_entry "redis:$pid"
    fi
    if port_clash "$dir/redis.log"; then log "$tag: port $port taken meanwhile; retrying"; continue; fi
    tail -20 "$dir/redis.log" >&2 2>/dev/null || true
    die "redis-server did not answer PING on 127.0.0.1:$port (log above)"
  done
  die "redis-server: no usable port after 5 attempts"
}

# start_kvring <tag>: sets SRV_PORT SRV_PID
start_kvring() {
  local tag=$1 dir="$WORK/$1" port cmd launched lp attempt rc
  mkdir -p "$dir/data"
  for ((attempt = 1; attempt <= 5; attempt++)); do
    port=$(free_port)
    cmd=${KVRING_CMD//\{port\}/$port}
    cmd=${cmd//\{dir\}/$dir/data}
    ( cd "$REPO_ROOT" && exec setsid bash -c "exec $cmd" ) >"$dir/kvring.log" 2>&1 </dev/null &
    launched=$!
    STARTED+=("group:$launched")
    rc=0; wait_pong "$port" "$launched" || rc=$?
    if ((rc == 0)); then
      lp=$(listener_pid "$port")
      if [[ -n $lp && $lp != "$launched" ]]; then
        log "$tag: listener pid $lp differs from launched pid $launched; measuring $lp"
      fi
      SRV_PORT=$port SRV_PID=${lp:-$launched}
      log "$tag: kvring pid $SRV_PID on 127.0.0.1:$port ($cmd)"
      return 0
    fi
    stop_entry "group:$launched"
    if ((rc == 1)) && port_clash "$dir/kvring.log"; then log "$tag: port $port taken meanwhile; retrying"; continue; fi
    tail -20 "$dir/kvring.log" >&2 || true
    if ((rc == 1)); then die "kvring exited before answering PING on port $port: $cmd"; fi
    die "kvring did not answer PING on 127.0.0.1:$port within ${START_TIMEOUT}s: $cmd"
  done
  die "kvring: no usable port after 5 attempts"
}

cpu_ticks() {   # utime+stime (fields 14, 15) of /proc/<pid>/stat, in clock ticks
  local s
  s=$(<"/proc/$1/stat") || die "process $1 vanished"
  s=${s##*) }                 # drop "pid (comm) " — comm may hold spaces
  read -r -a f <<<"$s"        # f[0] is field 3
  echo $((f[11] + f[12]))
}

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

per_op_us() {   # value seconds, requests -> µs/op
  awk -v s="$1" -v n="$2" 'BEGIN { if (n > 0 && s != "NA") printf "%.4f", s * 1e6 / n; else print "NA" }'
}

CSV_HEADER=tool,round,server,test,pipeline,clients,requests,ops_s,server_cpu_us_op,tool_cpu_us_op,avg_ms,p50_ms,p99_ms,server_ticks,tool_cpu_s,wall_s,status
echo "$CSV_HEADER" >"$OUT"

# run_measured <outfile> <errfile> cmd... : sets R_TICKS R_TOOLCPU R_WALL R_RC for server SRV_PID_CUR
run_measured() {
  local out=$1 err=$2 t0 t1 w0 tf="$WORK/time.$$"
  shift 2
  t0=$(cpu_ticks "$SRV_PID_CUR")
  w0=$EPOCHREALTIME
  R_RC=0
  local TIMEFORMAT='%3U %3S'
  { time timeout --foreground "$RUN_TIMEOUT" "$@" >"$out" 2>"$err"; } 2>"$tf" || R_RC=$?
  R_WALL=$(awk -v a="$w0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
  t1=$(cpu_ticks "$SRV_PID_CUR")
  R_TICKS=$((t1 - t0))
  R_TOOLCPU=$(awk 'NF >= 2 { printf "%.3f", $(NF-1) + $NF }' "$tf" | tail -1)
  [[ -n $R_TOOLCPU ]] || R_TOOLCPU=NA
  ((R_RC == 124)) && log "run timed out after ${RUN_TIMEOUT}s: $*"
  return 0
}

# rb_run <server-name> <port> <pid> <test> <pipeline> <round>
rb_run() {
  local name=$1 port=$2 pid=$3 test=$4 pl=$5 round=$6 n out err line status=ok
  n=$N_P1; ((pl > 1)) && n=$N_P16
  out="$WORK/rb.out" err="$WORK/rb.err"
  local -a args=(-h 127.0.0.1 -p "$port" -t "$test" -n "$n" -c "$CLIENTS" -P "$pl" -q --csv)
  ((KEYSPACE > 0)) && args+=(-r "$KEYSPACE")
  SRV_PID_CUR=$pid
  run_measured "$out" "$err" redis-benchmark "${args[@]}"
  # "SET","110497.24","0.244","0.072","0.223","0.311","0.631","10.631"
  line=$(grep -v '^"test"' "$out" | grep '^"' | head -1 | tr -d '"' || true)
  local rps=NA avg=NA p50=NA p99=NA
  if [[ $R_RC -eq 0 && -n $line ]]; then
    IFS=, read -r _ rps avg _ p50 _ p99 _ <<<"$line"
  else
    status="fail-rc$R_RC"
    log "redis-benchmark against $name failed (rc $R_RC): $(tail -3 "$err" "$out" 2>/dev/null | tr '\n' ' ')"
  fi
  local scpu tcpu
  scpu=$(per_op_us "$(awk -v t="$R_TICKS" -v h="$CLK_TCK" 'BEGIN { print t / h }')" "$n")
  tcpu=$(per_op_us "$R_TOOLCPU" "$n")
  echo "redis-benchmark,$round,$name,$test,$pl,$CLIENTS,$n,$rps,$scpu,$tcpu,$avg,$p50,$p99,$R_TICKS,$R_TOOLCPU,$R_WALL,$status" >>"$OUT"
  log "  round $round  $name  $test P$pl  n=$n: $rps ops/s, server $scpu µs/op, tool $tcpu µs/op, p50 $p50 ms${status:+ [$status]}"
}

MEMTIER_JSON_JS='
const fs = require("fs");
const d = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const t = d["ALL STATS"].Totals, g = d["ALL STATS"].Gets || {};
const p = t["Percentile Latencies"] || {};
const f = (x) => (x === undefined || x === null ? "NA" : x);
// Totals "Average Latency" comes out truncated to an integer in memtier 2.2 JSON; the text
// table average equals Accumulated Latency (ms) / Count.
const avg = t.Count > 0 && t["Accumulated Latency"] !== undefined ? (t["Accumulated Latency"] / t.Count).toFixed(3) : undefined;
console.log([f(t.Count), f(t["Ops/sec"]), f(avg), f(p["p50.00"]), f(p["p99.00"]),
  f(g["Hits/sec"]), f(g["Misses/sec"]), f(t["Connection Errors"])].join(" "));
'

memtier_common() { echo -s 127.0.0.1 -p "$1" --protocol=redis -t 1 -c "$CLIENTS" --hide-histogram; }

memtier_preload() {   # port name
  log "  preload for memtier on $2: memtier-1..memtier-$MEMTIER_KEYS (32-byte values)"
  # shellcheck disable=SC2046
  timeout --foreground "$RUN_TIMEOUT" "$MEMTIER" $(memtier_common "$1") --ratio=1:0 --key-pattern=P:P \
    --key-minimum=1 --key-maximum="$MEMTIER_KEYS" -n allkeys >"$WORK/mt-preload.out" 2>&1 \
    || { tail -5 "$WORK/mt-preload.out" >&2; die "memtier preload against $2 failed"; }
}

# mt_run <server-name> <port> <pid> <pipeline> <round>
mt_run() {
  local name=$1 port=$2 pid=$3 pl=$4 round=$5 json="$WORK/mt.json" status=ok
  rm -f "$json"
  SRV_PID_CUR=$pid
  # shellcheck disable=SC2046
  run_measured "$WORK/mt.out" "$WORK/mt.err" "$MEMTIER" $(memtier_common "$port") --ratio=1:1 \
    --pipeline="$pl" --test-time="$MEMTIER_TIME" --key-minimum=1 --key-maximum="$MEMTIER_KEYS" \
    --json-out-file="$json"
  local cnt=NA ops=NA avg=NA p50=NA p99=NA hits=NA miss=NA cerr=NA
  if [[ $R_RC -eq 0 && -s $json ]]; then
    read -r cnt ops avg p50 p99 hits miss cerr < <(node -e "$MEMTIER_JSON_JS" "$json") || true
  else
    status="fail-rc$R_RC"
    log "memtier against $name failed (rc $R_RC): $(tail -3 "$WORK/mt.err" 2>/dev/null | tr '\n' ' ')"
  fi
  if [[ $miss != NA && $miss != 0 && $miss != 0.0 && $miss != 0.00 ]]; then status="misses:$miss/s"; fi
  [[ $cerr != NA && $cerr != 0 ]] && status="conn-errors:$cerr"
  local scpu tcpu
  scpu=$(per_op_us "$(awk -v t="$R_TICKS" -v h="$CLK_TCK" 'BEGIN { print t / h }')" "$cnt")
  tcpu=$(per_op_us "$R_TOOLCPU" "$cnt")
  echo "memtier,$round,$name,set+get-1:1,$pl,$CLIENTS,$cnt,$ops,$scpu,$tcpu,$avg,$p50,$p99,$R_TICKS,$R_TOOLCPU,$R_WALL,$status" >>"$OUT"
  log "  round $round  $name  memtier 1:1 P$pl: $ops ops/s ($cnt req), server $scpu µs/op, tool $tcpu µs/op, p50 $p50 ms [$status]"
}

# ---------------------------------------------------------------- summary tables
summarize() {
  awk -F, '
    function med(key, col,    n, i, j, v, a) {
      n = 0
      for (i = 1; i <= cnt[key]; i++) { v = val[key, i, col]; if (v != "NA" && v != "") a[++n] = v + 0 }
      if (n == 0) return "NA"
      for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function fmt(v, f) { return v == "NA" ? "NA" : sprintf(f, v) }
    function ratio(a, b) { return (a == "NA" || b == "NA" || b == 0) ? "NA" : sprintf("%.2f", a / b) }
    NR == 1 { next }
    $17 != "ok" && $17 !~ /^misses/ { failed[$1 "|" $4 "|" $5 "|" $3]++; next }
    {
      key = $1 "|" $4 "|" $5 "|" $3
      if (!(key in cnt)) { order[++nk] = key; cnt[key] = 0 }
      c = ++cnt[key]
      val[key, c, 8] = $8; val[key, c, 9] = $9; val[key, c, 10] = $10; val[key, c, 12] = $12
      g = $1 "|" $4 "|" $5
      if (!(g in seen)) { seen[g] = 1; groups[++ng] = g }
    }
    END {
      print "| tool | test | P | server | runs | ops/s | server CPU µs/op | tool CPU µs/op | p50 ms |"
      print "|---|---|---:|---|---:|---:|---:|---:|---:|"
      for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, p, "|")
        for (c = 8; c <= 12; c++) m[k, c] = med(k, c)
        printf "| %s | %s | %s | %s | %d%s | %s | %s | %s | %s |\n", p[1], p[2], p[3], p[4], cnt[k],
          (failed[k] ? " (+" failed[k] " failed)" : ""),
          fmt(m[k, 8], "%.0f"), fmt(m[k, 9], "%.2f"), fmt(m[k, 10], "%.2f"), fmt(m[k, 12], "%.3f")
      }
      print ""
      print "| tool | test | P | ops/s kvring/redis | server CPU kvring/redis | tool CPU kvring/redis | p50 kvring/redis |"
      print "|---|---|---:|---:|---:|---:|---:|"
      for (i = 1; i <= ng; i++) {
        g = groups[i]; split(g, p, "|"); kk = g "|kvring"; kr = g "|redis"
        if (!(kk in cnt) || !(kr in cnt)) continue
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", p[1], p[2], p[3],
          ratio(m[kk, 8], m[kr, 8]), ratio(m[kk, 9], m[kr, 9]), ratio(m[kk, 10], m[kr, 10]), ratio(m[kk, 12], m[kr, 12])
      }
    }' "$OUT"
}

# ---------------------------------------------------------------- memory figure
NODE_LOADER_JS='
const net = require("net");
const [port, n, size] = process.argv.slice(1).map(Number);
const val = "x".repeat(size), B = 1000;
const s = net.connect(port, "127.0.0.1");
let sent = 0, got = 0, errs = 0, tail = "";
function batch() {
  const end = Math.min(n, sent + B), parts = [];
  for (let i = sent; i < end; i++) {
    const k = "key:" + String(i).padStart(12, "0");
    parts.push("*3\r\n$3\r\nSET\r\n$" + k.length + "\r\n" + k + "\r\n$" + size + "\r\n" + val + "\r\n");
  }
  sent = end;
  s.write(parts.join(""));
}
s.on("connect", () => { batch(); if (sent < n) batch(); });
s.on("data", (d) => {
  const str = tail + d.toString("latin1");
  let i = 0, j;
  while ((j = str.indexOf("\r\n", i)) !== -1) {
    if (str[i] === "-" && ++errs <= 3) console.error("error reply: " + str.slice(i, j));
    got++; i = j + 2;
  }
  tail = str.slice(i);
  if (got === n) { s.end(); return; }
  while (sent < n && sent - got <= B) batch();
});
s.on("error", (e) => { console.error(e.message); process.exit(1); });
s.on("close", () => { if (got !== n) { console.error("closed after " + got + "/" + n + " replies"); process.exit(1); }
  if (errs) { console.error(errs + " error replies"); process.exit(1); } });
'

mem_load() {   # port name
  local port=$1 name=$2 w0
  w0=$SECONDS
  if [[ $MEM_LOADER == node ]]; then
    timeout --foreground "$RUN_TIMEOUT" node -e "$NODE_LOADER_JS" "$port" "$MEM_KEYS" "$MEM_VALUE" \
      || die "loading $name failed"
  else
    timeout --foreground "$RUN_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$port" -t set -n "$MEM_KEYS" -r "$MEM_KEYS" \
      -d "$MEM_VALUE" -c "$CLIENTS" -P 16 -q --csv >"$WORK/mem-load.out" 2>&1 \
      || { tail -5 "$WORK/mem-load.out" >&2; die "loading $name failed"; }
  fi
  log "  loaded $name in $((SECONDS - w0)) s"
}

memory_phase() {
  log "memory: fresh servers, $MEM_KEYS keys of 16 bytes, $MEM_VALUE-byte values, loader $MEM_LOADER"
  local rport rpid kport kpid r_rss0 k_rss0 r_used0 r_rss1 r_hwm1 k_rss1 k_hwm1 r_used1 r_keys k_keys
  start_redis redis-mem; rport=$SRV_PORT rpid=$SRV_PID
  start_kvring kvring-mem; kport=$SRV_PORT kpid=$SRV_PID
  sleep 1
  r_rss0=$(status_kb "$rpid" VmRSS) k_rss0=$(status_kb "$kpid" VmRSS)
  r_used0=$(redis-cli -h 127.0.0.1 -p "$rport" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')
  mem_load "$rport" redis-server
  mem_load "$kport" kvring
  sleep 2
  r_rss1=$(status_kb "$rpid" VmRSS) r_hwm1=$(status_kb "$rpid" VmHWM)
  k_rss1=$(status_kb "$kpid" VmRSS) k_hwm1=$(status_kb "$kpid" VmHWM)
  r_used1=$(redis-cli -h 127.0.0.1 -p "$rport" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')
  r_keys=$(timeout 5 redis-cli -h 127.0.0.1 -p "$rport" dbsize 2>/dev/null | tr -d '\r' || true)
  k_keys=$(timeout 5 redis-cli -h 127.0.0.1 -p "$kport" dbsize 2>/dev/null | tr -d '\r' || true)
  is_uint "$r_keys" || r_keys=NA
  is_uint "$k_keys" || k_keys=NA
  {
    echo "server,keys_loaded,dbsize,value_bytes,rss_before_kb,rss_after_kb,rss_peak_kb,used_memory_before_b,used_memory_after_b"
    echo "redis,$MEM_KEYS,$r_keys,$MEM_VALUE,$r_rss0,$r_rss1,$r_hwm1,$r_used0,$r_used1"
    echo "kvring,$MEM_KEYS,$k_keys,$MEM_VALUE,$k_rss0,$k_rss1,$k_hwm1,NA,NA"
  } >"$OUT_MEM"
  stop_all
  awk -F, -v loader="$MEM_LOADER" '
    NR == 1 { next }
    { s[$1] = 1; keys[$1] = ($3 == "NA" ? $2 : $3); r0[$1] = $5; r1[$1] = $6; hw[$1] = $7; u0[$1] = $8; u1[$1] = $9; vb = $4 }
    function mb(kb) { return sprintf("%.1f", kb / 1024) }
    function bpk(d, k) { return (k > 0) ? sprintf("%.0f", d / k) : "NA" }
    END {
      printf "Memory: %s keys loaded per server (loader %s), key 16 B + value %d B = %d B of payload per key.\n\n", keys["redis"], loader, vb, 16 + vb
      print "| server | keys (DBSIZE) | RSS MB | peak RSS MB | RSS growth B/key | used_memory MB | used_memory growth B/key |"
      print "|---|---:|---:|---:|---:|---:|---:|"
      printf "| redis | %s | %s | %s | %s | %s | %s |\n", keys["redis"], mb(r1["redis"]), mb(hw["redis"]),
        bpk((r1["redis"] - r0["redis"]) * 1024, keys["redis"]), sprintf("%.1f", u1["redis"] / 1048576), bpk(u1["redis"] - u0["redis"], keys["redis"])
      printf "| kvring | %s | %s | %s | %s | – | – |\n", keys["kvring"], mb(r1["kvring"]), mb(hw["kvring"]),
        bpk((r1["kvring"] - r0["kvring"]) * 1024, keys["kvring"])
      print ""
      printf "kvring RSS / redis RSS = %.2f; kvring RSS / redis used_memory = %.2f\n", r1["kvring"] / r1["redis"], r1["kvring"] * 1024 / u1["redis"]
    }' "$OUT_MEM" | emit
}

# ---------------------------------------------------------------- main
emit() { tee -a "$OUT_MD"; }
log "work dir $WORK; raw rows -> $OUT"
log "machine: $(nproc) vCPU, CLK_TCK=$CLK_TCK, $(redis-server --version | awk '{print $3}'), node $(node --version 2>/dev/null || echo none); no CPU pinning"
log "kvring command: $KVRING_CMD"

if ((DO_BENCH || USE_MEMTIER)); then
  start_redis redis; R_PORT=$SRV_PORT R_PID=$SRV_PID
  start_kvring kvring; K_PORT=$SRV_PORT K_PID=$SRV_PID
  SERVERS=("redis $R_PORT $R_PID" "kvring $K_PORT $K_PID")

  if ((DO_BENCH)); then
    log "redis-benchmark: rounds=$ROUNDS tests=${TEST_LIST[*]} pipelines=${PIPE_LIST[*]} n(P1)=$N_P1 n(P>1)=$N_P16 c=$CLIENTS keyspace(-r)=$KEYSPACE (0 = none)"
    for ((round = 1; round <= ROUNDS; round++)); do
      for pl in "${PIPE_LIST[@]}"; do
        for test in "${TEST_LIST[@]}"; do
          for s in "${SERVERS[@]}"; do
            read -r name port pid <<<"$s"
            rb_run "$name" "$port" "$pid" "$test" "$pl" "$round"
          done
        done
      done
    done
  fi

  if ((USE_MEMTIER)); then
    log "memtier: $("$MEMTIER" --version 2>&1 | head -1)"
    for s in "${SERVERS[@]}"; do read -r name port pid <<<"$s"; memtier_preload "$port" "$name"; done
    for ((round = 1; round <= ROUNDS; round++)); do
      for pl in "${PIPE_LIST[@]}"; do
        for s in "${SERVERS[@]}"; do
          read -r name port pid <<<"$s"
          mt_run "$name" "$port" "$pid" "$pl" "$round"
        done
      done
    done
  fi
  stop_all
fi

# The report goes to stdout and to $OUT_MD. The phases that start servers run in this shell
# (not in a pipeline subshell) so that the EXIT/INT trap knows every process to stop.
: >"$OUT_MD"
KS_DESC=$KEYSPACE; ((KEYSPACE > 0)) || KS_DESC="none (one literal key)"
{
  echo "# kvring vs redis-server — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "$(nproc) vCPU, no pinning; redis-server $(redis-server --version | awk '{print $3}' | cut -d= -f2); kvring: \`$KVRING_CMD\`"
  echo
  echo -n "rounds=$ROUNDS, c=$CLIENTS, n(P1)=$N_P1, n(P>1)=$N_P16, redis-benchmark -r $KS_DESC"
  if ((USE_MEMTIER)); then echo -n "; memtier t1 --test-time=$MEMTIER_TIME, keys 1..$MEMTIER_KEYS preloaded"; fi
  echo
  echo "Medians over rounds; CPU = µs of user+sys per request. Raw rows: $OUT"
  echo
} | emit
if ((DO_BENCH || USE_MEMTIER)); then summarize | emit; echo | emit; fi
if ((DO_MEMORY)); then memory_phase; fi
if ((DO_MEMORY)); then log "raw rows: $OUT and $OUT_MEM; report: $OUT_MD"; else log "raw rows: $OUT; report: $OUT_MD"; fi
