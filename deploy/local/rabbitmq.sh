#!/usr/bin/env bash
# A private RabbitMQ node for tests and local runs (Debian's rabbitmq-server, no systemd, no Docker).
#
#   deploy/local/rabbitmq.sh start|stop|status [BASE_DIR]
#   deploy/local/rabbitmq.sh vhost NAME     a virtual host of its own (tests that must not share queues); prints its URI
#
# BASE_DIR (default $EMO_RABBIT_BASE or /tmp/emo-rabbitmq) holds the node's mnesia, logs and pid file.
# The AMQP port is $EMO_RABBIT_PORT (default 5679, not 5672, so a system broker can coexist).
# `start` is idempotent and prints the AMQP URI on its last line.
set -euo pipefail

action=${1:-}
[[ $action == vhost ]] && base=${EMO_RABBIT_BASE:-/tmp/emo-rabbitmq} || base=${2:-${EMO_RABBIT_BASE:-/tmp/emo-rabbitmq}}
port=${EMO_RABBIT_PORT:-5679}
node="emo-${port}@localhost"           # one node per port keeps names unique on a shared machine
pidfile="$base/rabbitmq.pid"
uri="amqp://guest:guest@127.0.0.1:${port}/"  # guest may log in from loopback only, which is all we listen on

# Everything listens on loopback only; epmd too (it would otherwise bind every interface).
export ERL_EPMD_ADDRESS=127.0.0.1

die() { echo "rabbitmq.sh: $*" >&2; exit 1; }

apt_install() {
  # Another apt/dpkg (unattended upgrades, a parallel job) may hold the lock for a while: retry.
  export DEBIAN_FRONTEND=noninteractive
  apt-cache policy "$@" 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq || true
  for attempt in $(seq 1 30); do
    if apt-get install -y -qq --no-install-recommends "$@" >/tmp/emo-apt.log 2>&1; then return 0; fi
    grep -qi 'lock' /tmp/emo-apt.log || { cat /tmp/emo-apt.log >&2; return 1; }
    echo "rabbitmq.sh: dpkg lock held, retrying ($attempt/30)..." >&2; sleep 5
  done
  cat /tmp/emo-apt.log >&2; return 1
}

ensure_installed() {
  [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] && return 0
  [[ $(id -u) -eq 0 ]] || die "rabbitmq-server is not installed and we are not root to install it"
  echo "rabbitmq.sh: installing rabbitmq-server with apt..." >&2
  apt_install rabbitmq-server || die "apt-get install rabbitmq-server failed"
}

# A killed VM lingers as a zombie until reaped: that is not alive.
alive() { kill -0 "$1" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

running_pid() {
  [[ -s $pidfile ]] || return 1
  local pid; pid=$(tr -dc '0-9' <"$pidfile")
  [[ -n $pid ]] && alive "$pid" || return 1
  echo "$pid"
}

# Debian's rabbitmqctl wrapper switches to the rabbitmq user (and its Erlang cookie) when run as root.
ctl() { rabbitmqctl -q -n "$node" "$@"; }

start() {
  ensure_installed
  if running_pid >/dev/null; then
    ctl wait --timeout 120 "$pidfile" >/dev/null || die "node $node runs but does not answer; see $base/log"
    echo "$uri"; return 0
  fi
  rm -f "$pidfile"  # a stale pid file made `rabbitmqctl wait/stop` hang for minutes
  mkdir -p "$base/mnesia" "$base/log"
  [[ -f $base/enabled_plugins ]] || echo '[].' >"$base/enabled_plugins"  # no management plugin: faster boot
  if [[ $(id -u) -eq 0 ]]; then
    chown -R rabbitmq:rabbitmq "$base"
    as_user=(runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq)  # its HOME holds the Erlang cookie rabbitmqctl uses
  else
    as_user=(env)
  fi
  local started; started=$(date +%s%N)
  # setsid + nohup: the node outlives this script and the caller's terminal or test process.
  setsid nohup "${as_user[@]}" \
    RABBITMQ_NODENAME="$node" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" \
    RABBITMQ_DIST_PORT=$((port + 20000)) ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$base/log" RABBITMQ_PID_FILE="$pidfile" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins" RABBITMQ_CONFIG_FILES="$base/conf.d" \
    /usr/lib/rabbitmq/bin/rabbitmq-server </dev/null >"$base/log/console.log" 2>&1 &
  if ! ctl wait --timeout 120 "$pidfile" >/dev/null 2>"$base/log/wait.err"; then
    cat "$base/log/wait.err" >&2; tail -n 30 "$base/log/console.log" >&2
    die "node $node did not start within 120 s; logs in $base/log"
  fi
  echo "rabbitmq.sh: node $node up in $(( ($(date +%s%N) - started) / 1000000 )) ms (logs: $base/log)" >&2
  echo "$uri"
}

stop() {
  local pid
  if pid=$(running_pid); then
    # SIGTERM, not `rabbitmqctl stop`: the latter hung for minutes on a stale pid file.
    kill -TERM "$pid"
    # Wait on the pid itself: the node deletes its pid file early in shutdown.
    for _ in $(seq 1 300); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then echo "rabbitmq.sh: node did not stop in 30 s, killing" >&2; kill -KILL "$pid" || true; fi
    echo "rabbitmq.sh: node $node stopped" >&2
  fi
  rm -f "$pidfile"
  # epmd outlives the node; it refuses to die while other nodes are registered, so this is safe.
  command -v epmd >/dev/null && epmd -kill >/dev/null 2>&1 || true
}

status() {
  if running_pid >/dev/null && ctl status >/dev/null 2>&1; then
    echo "running: node $node, $uri"
  else
    echo "not running (node $node, base $base)"; return 3
  fi
}

vhost() {
  local name=${1:-}
  [[ $name =~ ^[a-z0-9-]{1,64}$ ]] || die "vhost: a name of 1-64 lowercase letters, digits or '-' is required"
  start >/dev/null
  ctl list_vhosts | grep -qx "$name" || ctl add_vhost "$name" >/dev/null
  ctl set_permissions -p "$name" guest '.*' '.*' '.*' >/dev/null
  echo "${uri}${name}"
}

case $action in
  start) start ;;
  vhost) vhost "${2:-}" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status [BASE_DIR] | vhost NAME   (env: EMO_RABBIT_PORT, EMO_RABBIT_BASE)" >&2; exit 2 ;;
esac
