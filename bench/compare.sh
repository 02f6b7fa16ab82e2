#!/usr/bin/env bash
# bench/compare.sh: p2pchat-server against ngircd, InspIRCd and redis, under the same
# workloads, on loopback, then bench/RESULTS.md and bench/results.svg.
#
# Installs the three peers from Debian packages when missing (root and apt-get needed),
# writes their configurations into a temporary directory (loopback port, connection
# limits raised, flood throttling off), starts each in the foreground as a child of this
# script (never the system service), runs every workload against each server in turn,
# alternating servers within each round, and stops everything it started.
#
# Knobs (environment variables, defaults in brackets):
#   RUNS [3]                 rounds; each round runs every workload on every server
#   SERVERS ["p2pchat ngircd inspircd redis"]
#   DURATION [5] WARMUP [1]  seconds measured / warmed up per run
#   FANOUT_CLIENTS ["100 1000"]  SENDERS [8] WINDOW [16]
#   FANOUT_LOAD [1000000]    fanout-rate: the offered load in deliveries per second, the same
#                            for every server and size (each sender is paced at
#                            FANOUT_LOAD / (SENDERS × clients) messages per second)
#   RTT_BG_CLIENTS [100] RTT_BG_SENDERS [2] RTT_BG_RATE [500]
#   RTT_PAIR [members]       the round-trip pair in the broadcast set (members) or out of
#                            it where the protocol allows (outside); see `rtt --help`
#   RTT_PAIR_THREADS [1]     generator threads of the round-trip pair: 1 (A and B share one)
#                            or 2 (one each, as two separate clients)
#   IDLE_CLIENTS ["1000"]    e.g. "1000 10000"
#   THREADS [1]              generator threads
#   P2PCHAT_WORKERS [unset]  p2pchat-server's --workers (unset: one per CPU)
#   CONCURRENCY [256]        connection set-ups in flight; ngircd gets NGIRCD_CONCURRENCY [16]
#                            (it listens with a backlog of 10 and scans every connection on each
#                            loop, so many registrations at once make it slower, not faster)
#   WORKLOADS ["fanout fanout-rate rtt rtt-receipt idle slow"]  which workloads to run
#                            (fanout-rate: fan-out latency at FANOUT_LOAD, below every
#                            server's capacity; slow: against
#                            p2pchat only, once per round; rtt-receipt: the round trip with a
#                            receipt back to the sender, not against ngircd, which has no
#                            IRCv3 echo-message)
#   NICE [-10 as root, else 0]  niceness of the servers and the generator, so that other work
#                            on a shared machine disturbs the measurements less
#   GEN_NICE [NICE]          niceness of the generator alone; lower than NICE gives it priority
#                            over the server, as if it ran on a machine of its own
#   QUIET_MAX [5]           seconds to wait, before each run, for other load to go away
#   OUT [bench/results.jsonl]  JSON lines of every run (a fresh file); the notes on how they
#                            were made go beside it (results.notes.md)
#   EXTRA_RESULTS, EXTRA_NOTES, PREFACE  more JSON-lines files, a notes file and a
#                            findings file (placed first) for the report
#   NO_INSTALL [unset]       set to skip apt-get
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
RUNS=${RUNS:-3}
SERVERS=${SERVERS:-"p2pchat ngircd inspircd redis"}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
FANOUT_CLIENTS=${FANOUT_CLIENTS:-"100 1000"}
FANOUT_LOAD=${FANOUT_LOAD:-1000000}
SENDERS=${SENDERS:-8}
WINDOW=${WINDOW:-16}
RTT_BG_CLIENTS=${RTT_BG_CLIENTS:-100}
RTT_BG_SENDERS=${RTT_BG_SENDERS:-2}
RTT_BG_RATE=${RTT_BG_RATE:-500}
RTT_PAIR=${RTT_PAIR:-members}
RTT_PAIR_THREADS=${RTT_PAIR_THREADS:-1}
IDLE_CLIENTS=${IDLE_CLIENTS:-1000}
THREADS=${THREADS:-1}
P2PCHAT_WORKERS=${P2PCHAT_WORKERS:-}
CONCURRENCY=${CONCURRENCY:-256}
NGIRCD_CONCURRENCY=${NGIRCD_CONCURRENCY:-16}
QUIET_MAX=${QUIET_MAX:-5}
if [ "$(id -u)" = 0 ]; then NICE=${NICE:--10}; else NICE=${NICE:-0}; fi
GEN_NICE=${GEN_NICE:-$NICE}

OUT=${OUT:-$here/results.jsonl}
WORKLOADS=${WORKLOADS:-"fanout fanout-rate rtt rtt-receipt idle slow"}
want() { [[ " $WORKLOADS " == *" $1 "* ]]; }
# InspIRCd loads its echo-message modules for the rtt-receipt runs only.
echo_message=0

say() { printf '[compare] %s\n' "$*" >&2; }

# --- file descriptors: 10,000 clients need 10,000 descriptors on each side ---------
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
say "open files limit: $(ulimit -n)"

# --- the peers, from Debian packages --------------------------------------------------
missing=()
for s in $SERVERS; do
  case $s in
    ngircd) command -v ngircd >/dev/null || missing+=(ngircd) ;;
    inspircd) command -v inspircd >/dev/null || missing+=(inspircd) ;;
    redis) command -v redis-server >/dev/null || missing+=(redis-server) ;;
  esac
done
if [ ${#missing[@]} -gt 0 ] && [ -z "${NO_INSTALL:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "not root: cannot install ${missing[*]}; those servers are skipped"
  fi
fi
# Debian starts the packaged services where systemd runs; they are not ours to stop,
# and they listen on their default ports, not on the ones used here.

# --- build ----------------------------------------------------------------------------
target_dir=${CARGO_TARGET_DIR:-$root/target}
say "building p2pchat-server and p2pchat-bench (release) into $target_dir"
(cd "$root" && cargo build --release -q -p reference-server -p bench)
bench="$target_dir/release/p2pchat-bench"
server_bin="$target_dir/release/p2pchat-server"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/p2pchat-compare.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then stop_server; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers --------------------------------------------------------------------------
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12000))
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  say "no free port found"; return 1
}

wait_port() { # port pid
  for _ in $(seq 1 200); do
    if ! kill -0 "$2" 2>/dev/null; then return 1; fi
    if ! port_free "$1"; then return 0; fi
    sleep 0.1
  done
  return 1
}

busy_ticks() { # machine busy ticks (all CPUs) over one second
  local a b
  read -r _ u1 n1 s1 _ _ q1 sq1 st1 _ < /proc/stat
  sleep 1
  read -r _ u2 n2 s2 _ _ q2 sq2 st2 _ < /proc/stat
  a=$((u1 + n1 + s1 + q1 + sq1 + st1)); b=$((u2 + n2 + s2 + q2 + sq2 + st2))
  echo $((b - a))
}

wait_quiet() { # until the machine is idle (< 0.3 cores busy), QUIET_MAX seconds at most
  local t
  for _ in $(seq 1 "$QUIET_MAX"); do
    t=$(busy_ticks)
    if [ "$t" -le 30 ]; then return 0; fi
  done
  say "machine still busy ($t ticks/s by others); running anyway (see machine_cpu in the results)"
}

# start_server NAME: sets server_pid, server_addr, server_proto
start_server() {
  local name=$1 port conf
  case $name in
    p2pchat)
      server_proto=p2pchat
      # Rate limit and keepalive off: the benchmark floods on purpose and idles on purpose.
      local workers=()
      [ -n "$P2PCHAT_WORKERS" ] && workers=(--workers "$P2PCHAT_WORKERS")
      nice -n "$NICE" "$server_bin" --bind 127.0.0.1:0 --memory-db --rate-burst 0 --keepalive 0 \
        --idle-timeout 0 --max-connections 19000 "${workers[@]}" >"$tmp/p2pchat.out" 2>"$tmp/p2pchat.err" &
      server_pid=$!
      for _ in $(seq 1 200); do
        server_addr=$(sed -n 's/^p2pchat-server listening on //p' "$tmp/p2pchat.out" | head -n1)
        [ -n "$server_addr" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
      done
      [ -n "$server_addr" ] || { say "p2pchat-server did not start: $(tail -n3 "$tmp/p2pchat.err")"; return 1; }
      return 0
      ;;
    ngircd)
      server_proto=irc; port=$(pick_port); conf="$tmp/ngircd.conf"
      cat >"$conf" <<EOF
[Global]
Name = bench.local
Info = p2pchat-bench
AdminInfo1 = bench
AdminInfo2 = bench
AdminEMail = bench@localhost
Listen = 127.0.0.1
Ports = $port
MotdPhrase = bench
ServerUID = $(id -u)
ServerGID = $(id -g)
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 9
MaxPenaltyTime = 0
PingTimeout = 3600
PongTimeout = 3600
[Options]
DNS = no
Ident = no
PAM = no
EOF
      nice -n "$NICE" ngircd -n -f "$conf" >"$tmp/ngircd.log" 2>&1 &
      ;;
    inspircd)
      server_proto=irc; port=$(pick_port); conf="$tmp/inspircd.conf"
      cat >"$conf" <<EOF
<server name="bench.local" description="p2pchat-bench" network="bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="$port" type="clients">
<connect name="bench" allow="*" timeout="120" pingfreq="3600"
         threshold="1000000" commandrate="1000000000" fakelag="no"
         hardsendq="1073741824" softsendq="1073741824" recvq="1048576"
         localmax="100000" globalmax="100000" limit="100000"
         maxchans="100" resolvehostnames="no" useident="no">
<performance netbuffersize="65536" somaxconn="4096" softlimit="19000" clonesonconnect="no" quietbursts="yes">
<dns server="127.0.0.1" timeout="1">
<pid file="$tmp/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="$tmp/inspircd.log">
<channels users="100" opers="100">
<limits maxnick="30" maxchan="64">
<options prefixquit="Quit: " syntaxhints="no" announcets="yes">
<security maxtargets="20">
EOF
      # echo-message for the rtt-receipt runs only: every other run keeps the
      # configuration of the earlier rounds.
      if [ "$echo_message" = 1 ]; then
        printf '<module name="cap">\n<module name="ircv3_echomessage">\n' >>"$conf"
      fi
      nice -n "$NICE" inspircd --nofork --runasroot --config="$conf" >"$tmp/inspircd.out" 2>&1 &
      ;;
    redis)
      server_proto=resp; port=$(pick_port); conf="$tmp/redis.conf"
      # No persistence, no output-buffer cut-off for subscribers (the workloads bound
      # their own windows), as many clients as descriptors allow.
      cat >"$conf" <<EOF
bind 127.0.0.1
port $port
protected-mode no
save ""
appendonly no
maxclients 18000
client-output-buffer-limit pubsub 0 0 0
daemonize no
logfile ""
dir $tmp
EOF
      nice -n "$NICE" redis-server "$conf" >"$tmp/redis.log" 2>&1 &
      ;;
    *) say "unknown server $name"; return 1 ;;
  esac
  server_pid=$!
  server_addr="127.0.0.1:$port"
  if ! wait_port "$port" "$server_pid"; then
    say "$name did not start listening on $port"
    tail -n 5 "$tmp"/*.log "$tmp"/*.out 2>/dev/null >&2 || true
    return 1
  fi
}

stop_server() {
  local pid=$server_pid
  server_pid=""
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

failures=0
run_one() { # server workload args...
  local name=$1 workload=$2; shift 2
  wait_quiet
  if ! start_server "$name"; then failures=$((failures + 1)); return 0; fi
  local conc=$CONCURRENCY
  [ "$name" = ngircd ] && conc=$NGIRCD_CONCURRENCY
  say "run $round: $name $workload $*"
  if ! nice -n "$GEN_NICE" "$bench" "$workload" --proto "$server_proto" --addr "$server_addr" --pid "$server_pid" \
      --label "$name" --threads "$THREADS" --concurrency "$conc" "$@" >>"$OUT" 2>>"$tmp/bench.log"; then
    say "FAILED: $name $workload $* ($(tail -n1 "$tmp/bench.log"))"
    echo "- failed: \`$workload $*\` against $name: $(tail -n1 "$tmp/bench.log")" >>"$tmp/failures.md"
    failures=$((failures + 1))
  fi
  stop_server
}

# --- the runs -------------------------------------------------------------------------
: >"$OUT"
started=$(date -u +%s)
timing=(--duration "$DURATION" --warmup "$WARMUP")
for round in $(seq 1 "$RUNS"); do
  # Rotate the order of servers each round, so that none always runs first.
  read -r -a order <<<"$SERVERS"
  shift_by=$(( (round - 1) % ${#order[@]} ))
  order=("${order[@]:shift_by}" "${order[@]:0:shift_by}")
  want fanout && for n in $FANOUT_CLIENTS; do
    for s in "${order[@]}"; do
      run_one "$s" fanout --clients "$n" --senders "$SENDERS" --window "$WINDOW" "${timing[@]}"
    done
  done
  # The same clients and senders at one offered load for every server, so that latency
  # is compared at equal work, not at whatever throughput each server reaches.
  want fanout-rate && for n in $FANOUT_CLIENTS; do
    rate=$(awk "BEGIN { print $FANOUT_LOAD / ($SENDERS * $n) }")
    for s in "${order[@]}"; do
      run_one "$s" fanout --clients "$n" --senders "$SENDERS" --window "$WINDOW" --rate "$rate" "${timing[@]}"
    done
  done
  want rtt && for s in "${order[@]}"; do
    run_one "$s" rtt --bg-clients "$RTT_BG_CLIENTS" --bg-senders "$RTT_BG_SENDERS" \
      --bg-rate "$RTT_BG_RATE" --pair "$RTT_PAIR" --pair-threads "$RTT_PAIR_THREADS" "${timing[@]}"
  done
  # The same, with a receipt of each message back to the sender (IRC: echo-message).
  want rtt-receipt && for s in "${order[@]}"; do
    [ "$s" = ngircd ] && continue
    echo_message=1
    run_one "$s" rtt --receipt --bg-clients "$RTT_BG_CLIENTS" --bg-senders "$RTT_BG_SENDERS" \
      --bg-rate "$RTT_BG_RATE" --pair "$RTT_PAIR" --pair-threads "$RTT_PAIR_THREADS" "${timing[@]}"
    echo_message=0
  done
  want idle && for n in $IDLE_CLIENTS; do
    for s in "${order[@]}"; do
      run_one "$s" idle --clients "$n" --warmup 0 --duration 1 --settle 1
    done
  done
  if want slow && [[ " $SERVERS " == *" p2pchat "* ]]; then
    run_one p2pchat slow --clients 100 --senders "$SENDERS" --window "$WINDOW" --duration 8 --warmup 0.5
  fi
done
elapsed=$(( $(date -u +%s) - started ))

# --- the report -----------------------------------------------------------------------
notes="${OUT%.jsonl}.notes.md"
{
  echo "- Servers: p2pchat-server $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?') (release build, \`--memory-db --rate-burst 0 --keepalive 0 --idle-timeout 0${P2PCHAT_WORKERS:+ --workers $P2PCHAT_WORKERS}\`)"
  command -v ngircd >/dev/null && echo "  · $(ngircd --version 2>/dev/null | head -n1)"
  command -v inspircd >/dev/null && echo "  · $(inspircd --version 2>/dev/null | head -n1)"
  command -v redis-server >/dev/null && echo "  · $(redis-server --version 2>/dev/null | head -n1)"
  echo "- Configurations (written by \`bench/compare.sh\`): loopback only; ngircd \`MaxConnections = 0\`,"
  echo "  \`MaxConnectionsIP = 0\`, \`MaxPenaltyTime = 0\`, DNS/Ident/PAM off; InspIRCd connect class with"
  echo "  \`commandrate=1000000000 fakelag=\"no\" threshold=1000000\`, 1 GiB sendq, \`localmax\`/\`globalmax\` 100,000;"
  echo "  redis without persistence and with \`client-output-buffer-limit pubsub 0 0 0\`."
  echo "- Workloads: $RUNS rounds, servers alternating and rotated each round, each server restarted"
  echo "  for each run; $WARMUP s warm-up then $DURATION s measured; $THREADS generator thread(s);"
  if [ "$GEN_NICE" = "$NICE" ]; then
    echo "  servers and generator at niceness $NICE."
  else
    echo "  servers at niceness $NICE, the generator at $GEN_NICE."
  fi
  if want fanout; then
    echo "  Fan-out: $SENDERS senders, a window of $WINDOW messages each, 80-byte messages. Deliveries/s ="
    echo "  payload lines received by clients per second, the same count for every protocol: p2pchat relays"
    echo "  to all registered clients including the sender (the echo completes the sender's window); IRC"
    echo "  does not echo a channel message to its sender, so each message reaches N−1 clients and the"
    echo "  first non-sending client is the designated receiver that completes every sender's window;"
    echo "  redis publishers are $SENDERS extra connections (a subscribed connection cannot publish), each"
    echo "  message reaches the N subscribers, and the first subscriber completes the windows."
    echo "  Fan-out latency is send → receipt over all deliveries; with a window it measures queueing"
    echo "  (about window × senders × clients ÷ throughput), not an idle server's latency."
  fi
  if want fanout-rate; then
    echo "  Fan-out at a fixed load (\`fanout-rate\`): the same clients and senders, each sender paced at"
    echo "  $FANOUT_LOAD ÷ ($SENDERS × clients) messages per second (1 ms ticks; sender k of $SENDERS at k/$SENDERS"
    echo "  of its period, so that they take turns), so every server gets"
    echo "  $FANOUT_LOAD deliveries/s at every size and latency is compared at the same work."
  fi
  if want rtt; then
    echo "- Round trip: one private message at a time from A to B (p2pchat \`SEND\` → \`MSG\`, B answers"
    echo "  \`ACK\`; IRC \`PRIVMSG B\`; redis \`PUBLISH\` to B's own channel), send → receipt at B, while"
    echo "  a background fan-out of $RTT_BG_CLIENTS clients and $RTT_BG_SENDERS senders at $RTT_BG_RATE"
    echo "  messages/s each runs on the generator's other threads."
    if [ "$RTT_PAIR_THREADS" = 2 ]; then
      echo "  A and B run on a generator thread each (\`--pair-threads 2\`), as two separate clients"
      echo "  would: A's receipt is read on A's thread, not on the thread that waits for B's delivery."
    else
      echo "  A and B share one generator thread of their own (\`--pair-threads 1\`): whatever A"
      echo "  reads (a receipt) is handled on the thread that also waits for B's delivery."
    fi
    if [ "$RTT_PAIR" = members ]; then
      echo "  A and B get the background's broadcasts on every server, as every p2pchat client does"
      echo "  (IRC: both join \`#bench\`; redis: B also subscribes to \`bench\`; A, a publisher, cannot)."
    else
      echo "  A and B are outside the broadcast set where the protocol allows (IRC, redis); p2pchat's"
      echo "  pair still gets every broadcast of the background, which the others' pairs do not."
    fi
  fi
  if want rtt-receipt; then
    echo "- Round trip with a receipt (\`rtt --receipt\`, workload \`rtt-receipt\`): the same, but every"
    echo "  server also writes a receipt of each message back to A, as p2pchat always does (\`SENT\`;"
    echo "  redis always replies to \`PUBLISH\`; InspIRCd echoes the \`PRIVMSG\` to A, which asks for"
    echo "  IRCv3 \`echo-message\`). ngircd has no echo-message and is left out. Each run records the"
    echo "  receipts A got per message (\`receipts_per_msg\`). p2pchat's B still answers each \`MSG\`"
    echo "  with an \`ACK\`, which the others have no counterpart for."
  fi
  if want idle; then
    echo "- Memory per idle connection: (VmRSS with N clients set up, read once the server has gone"
    echo "  quiet after the last set-up — a 250 ms period with at most one tick of its CPU — and 1 s"
    echo "  more) − (VmRSS before connecting them, read after 32 clients were set up the same way,"
    echo "  closed, and the server went quiet: so that code and allocator structures first touched by"
    echo "  any connection are not counted per connection), ÷ N; p2pchat clients registered, IRC clients"
    echo "  registered and joined to \`#bench\`, redis clients subscribed. Registration broadcasts a JOIN"
    echo "  to everyone in p2pchat and IRC (N² lines in all), so buffers freed after the joins count where"
    echo "  the allocator keeps them."
  fi
  if want slow; then
    echo "- Slow reader (p2pchat only): 100 clients and $SENDERS senders as in the fan-out, plus one"
    echo "  client that registers and never reads again (4 KiB receive buffer); 8 s."
  fi
  echo "- CPU: \`generator CPU\` and \`server CPU\` are cores used during the measured window"
  echo "  (/proc/<pid>/stat); \`machine_cpu\` in the JSON is the whole machine, so the rest is other"
  echo "  processes or network softirq. \`gen_wait\` and \`server_wait\` (\"waiting for a CPU\") are the"
  echo "  time their threads were ready to run but had no CPU, per second (schedstat \`run_delay\`)."
  echo "  Total time: ${elapsed} s."
  if [ -s "$tmp/failures.md" ]; then echo "- Failed runs:"; sed 's/^/  /' "$tmp/failures.md"; fi
} >"$notes"
# shellcheck disable=SC2086 # EXTRA_RESULTS is a list of files
"$bench" report "$OUT" ${EXTRA_RESULTS:-} --markdown "$here/RESULTS.md" --svg "$here/results.svg" \
  --notes "$notes" ${EXTRA_NOTES:+--notes "$EXTRA_NOTES"} ${PREFACE:+--preface "$PREFACE"}
say "done in ${elapsed} s: $here/RESULTS.md, $here/results.svg, $OUT ($failures failed runs)"
[ "$failures" -eq 0 ]
