#!/usr/bin/env bash
# Single-node Apache Kafka broker (KRaft, no ZooKeeper) on 127.0.0.1 for tests.
# The broker jars come from Maven Central (see pom.xml next to this script).
#
#   kafka.sh fetch                                   download + cache the classpath
#   kafka.sh start [--port N] [--controller-port N] [--dir DIR]
#                  [--sasl-port N --tls-cert FILE --tls-key FILE
#                   [--plain-user USER:PASSWORD]... [--scram-user USER:PASSWORD]...]
#   kafka.sh stop  [--dir DIR]
#   kafka.sh status [--dir DIR]
#
# See README.md for environment variables.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROG="$(basename "$0")"

KAFKA_VERSION="${MCPTRAIL_KAFKA_VERSION:-3.9.2}"
CACHE_ROOT="${MCPTRAIL_CACHE:-${HOME:?HOME is not set}/.cache/mcptrail}"
CLASSPATH_DIR="${MCPTRAIL_KAFKA_CLASSPATH_DIR:-$CACHE_ROOT/kafka/$KAFKA_VERSION}"
DEFAULT_DIR="${MCPTRAIL_KAFKA_DIR:-${TMPDIR:-/tmp}/mcptrail-kafka}"
DEFAULT_PORT="${MCPTRAIL_KAFKA_PORT:-19092}"
START_TIMEOUT="${MCPTRAIL_KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT="${MCPTRAIL_KAFKA_STOP_TIMEOUT:-30}"
HEAP_OPTS="${MCPTRAIL_KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
JVM_OPTS="${MCPTRAIL_KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}"
HOST=127.0.0.1

die() { echo "$PROG: error: $*" >&2; exit 1; }
info() { echo "$PROG: $*" >&2; }

usage() {
  cat >&2 <<EOF
usage:
  $PROG fetch
  $PROG start  [--port N] [--controller-port N] [--dir DIR]
                [--sasl-port N --tls-cert FILE --tls-key FILE
                 [--plain-user USER:PASSWORD]... [--scram-user USER:PASSWORD]...]
  $PROG stop   [--dir DIR]
  $PROG status [--dir DIR]

defaults: --port $DEFAULT_PORT, --controller-port PORT+1, --dir $DEFAULT_DIR
--sasl-port adds a SASL_SSL listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512);
--tls-cert/--tls-key are its PEM certificate (chain) and unencrypted key.
Kafka $KAFKA_VERSION, classpath cache: $CLASSPATH_DIR
EOF
  exit 2
}

# --- helpers ----------------------------------------------------------------

kafka_major() { echo "${KAFKA_VERSION%%.*}"; }

logging_flavor() {
  if [ "$(kafka_major)" -ge 4 ] 2>/dev/null; then echo log4j2; else echo reload4j; fi
}

need_java() {
  command -v java >/dev/null 2>&1 || die "java not found (need a Java 17+ JRE on PATH)"
}

is_uint() { case "$1" in ''|*[!0-9]*) return 1 ;; *) return 0 ;; esac; }

check_port_arg() {
  if ! is_uint "$1" || [ "$1" -lt 1 ] || [ "$1" -gt 65535 ]; then
    die "invalid port: '$1'"
  fi
}

# port_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# pid_is_ours PID DIR: the process is alive and is the broker started for DIR.
pid_is_ours() {
  local pid="$1" dir="$2" cmd
  is_uint "$pid" || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  [ -r "/proc/$pid/cmdline" ] || return 0 # no procfs: trust the pid file
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  case "$cmd" in
    *kafka.Kafka*"$dir/server.properties"*) return 0 ;;
    *) return 1 ;;
  esac
}

read_pid() {
  if [ -f "$1/kafka.pid" ]; then tr -d ' \n' <"$1/kafka.pid" || true; fi
}

abs_dir() { mkdir -p "$1" && (cd "$1" && pwd); }

# Kafka cluster ids are 16 random bytes, base64url without padding (22 chars).
# Like org.apache.kafka.common.Uuid.randomUuid(), avoid a leading '-'.
random_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    case "$id" in -*) ;; *) echo "$id"; return ;; esac
  done
}

# --- fetch ------------------------------------------------------------------

classpath_ready() { [ -f "$CLASSPATH_DIR/.complete" ]; }

cmd_fetch() {
  if classpath_ready; then
    info "kafka $KAFKA_VERSION classpath already cached in $CLASSPATH_DIR"
    return 0
  fi
  local parent tmp t0 flavor
  parent="$(dirname "$CLASSPATH_DIR")"
  mkdir -p "$parent" || die "cannot create cache dir $parent"
  # Serialize concurrent fetches (e.g. parallel test packages) of one version.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$parent/.fetch-$KAFKA_VERSION.lock"
    flock 9
    if classpath_ready; then
      exec 9>&-
      info "kafka $KAFKA_VERSION classpath already cached in $CLASSPATH_DIR"
      return 0
    fi
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (needed once to fetch the Kafka jars from Maven Central)"
  need_java
  flavor="$(logging_flavor)"
  tmp="$(mktemp -d "$parent/.fetch-$KAFKA_VERSION.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  t0=$(date +%s)
  info "fetching kafka $KAFKA_VERSION ($flavor logging) from Maven Central into $CLASSPATH_DIR ..."
  if ! mvn -B -q -Dstyle.color=never -f "$SCRIPT_DIR/pom.xml" \
      org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
      -Dkafka.version="$KAFKA_VERSION" \
      -Dkafka.logging="$flavor" \
      -DincludeScope=runtime \
      -DoutputDirectory="$tmp/lib" >"$tmp/mvn.log" 2>&1 ||
    ! ls "$tmp/lib"/kafka_2.13-*.jar >/dev/null 2>&1; then
    cp "$tmp/mvn.log" "$parent/fetch-$KAFKA_VERSION.log" 2>/dev/null || true
    tail -n 40 "$tmp/mvn.log" >&2
    die "mvn failed to resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central (log: $parent/fetch-$KAFKA_VERSION.log)"
  fi
  echo "$KAFKA_VERSION $flavor" >"$tmp/lib/.complete"
  rm -rf "$CLASSPATH_DIR"
  mv -T "$tmp/lib" "$CLASSPATH_DIR"
  rm -rf "$tmp"
  trap - EXIT
  exec 9>&- # release the lock; must not leak into the broker process
  info "fetched $(find "$CLASSPATH_DIR" -name '*.jar' | wc -l | tr -d ' ') jars in $(($(date +%s) - t0))s"
}

# --- config files -----------------------------------------------------------

write_server_properties() {
  local dir="$1" port="$2" cport="$3" sport="${4:-}"
  local listeners="PLAINTEXT://$HOST:$port,CONTROLLER://$HOST:$cport"
  local advertised="PLAINTEXT://$HOST:$port"
  local protomap="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [ -n "$sport" ]; then
    listeners="$listeners,SASL_SSL://$HOST:$sport"
    advertised="$advertised,SASL_SSL://$HOST:$sport"
    protomap="$protomap,SASL_SSL:SASL_SSL"
  fi
  if [ -n "$sport" ]; then
    # The file holds a private key and passwords: owner-only.
    (umask 077 && : >"$dir/server.properties")
    chmod 600 "$dir/server.properties"
  fi
  cat >"$dir/server.properties" <<EOF
# Generated by $PROG on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$cport
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protomap
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
log.segment.bytes=67108864
EOF
  if [ -n "$sport" ]; then
    write_sasl_ssl_properties >>"$dir/server.properties"
  fi
  if [ -n "${MCPTRAIL_KAFKA_EXTRA_PROPERTIES:-}" ]; then
    printf '# MCPTRAIL_KAFKA_EXTRA_PROPERTIES\n%s\n' "$MCPTRAIL_KAFKA_EXTRA_PROPERTIES" >>"$dir/server.properties"
  fi
}

# pem_one_line FILE: the PEM blocks of FILE on one line, whitespace-separated.
# Kafka's PEM parser ignores the whitespace inside a block, so the inline
# ssl.keystore.* values need no line continuations.
pem_one_line() {
  tr -d '\r' <"$1" | awk 'NF { printf "%s%s", sep, $0; sep = " " }'
}

# write_sasl_ssl_properties: the SASL_SSL listener settings, from the
# globals TLS_CERT, TLS_KEY_PKCS8 and PLAIN_USERS set by cmd_start.
write_sasl_ssl_properties() {
  local u jaas="org.apache.kafka.common.security.plain.PlainLoginModule required"
  for u in ${PLAIN_USERS[@]+"${PLAIN_USERS[@]}"}; do
    jaas="$jaas user_${u%%:*}=\"${u#*:}\""
  done
  cat <<EOF
# SASL_SSL listener (--sasl-port)
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=$jaas;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.client.auth=none
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.certificate.chain=$(pem_one_line "$TLS_CERT")
listener.name.sasl_ssl.ssl.keystore.key=$TLS_KEY_PKCS8
EOF
}

# Log to stdout; the broker's stdout/stderr are redirected to DIR/kafka.log.
write_log_config() {
  local dir="$1"
  if [ "$(logging_flavor)" = reload4j ]; then
    cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
    echo "-Dlog4j.configuration=file:$dir/log4j.properties"
  else
    cat >"$dir/log4j2.properties" <<'EOF'
status = warn
shutdownHook = disable
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
EOF
    echo "-Dlog4j2.configurationFile=$dir/log4j2.properties"
  fi
}

# --- start ------------------------------------------------------------------

# check_credential KIND USER:PASSWORD: names and passwords go into
# server.properties, a JAAS config and StorageTool's --add-scram syntax
# unescaped, so only a conservative character set is accepted.
check_credential() {
  local kind="$1" cred="$2" user pass
  case "$cred" in *:*) ;; *) die "$kind: want USER:PASSWORD" ;; esac
  user="${cred%%:*}" pass="${cred#*:}"
  [[ -n $user && -n $pass ]] || die "$kind: user and password must not be empty"
  case "$user" in *[!A-Za-z0-9._@-]*) die "$kind: user '$user' may only hold A-Z a-z 0-9 . _ @ -" ;; esac
  case "$pass" in *[!A-Za-z0-9._@:+!%^*~/?#-]*)
    die "$kind: the password for '$user' may only hold A-Z a-z 0-9 and . _ @ : + ! % ^ * ~ / ? # -" ;;
  esac
}

# load_tls_key FILE: prints the unencrypted PKCS#8 private key of FILE on one
# line. PKCS#1 (RSA) and SEC1 (EC) keys are converted with openssl.
load_tls_key() {
  local f="$1" pkcs8
  if grep -q -- '-----BEGIN PRIVATE KEY-----' "$f"; then
    pkcs8="$(sed -n '/-----BEGIN PRIVATE KEY-----/,/-----END PRIVATE KEY-----/p' "$f")"
  elif grep -q -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' "$f"; then
    die "--tls-key $f is encrypted; give an unencrypted key"
  elif grep -Eq -- '-----BEGIN (RSA|EC) PRIVATE KEY-----' "$f"; then
    command -v openssl >/dev/null 2>&1 ||
      die "--tls-key $f is not PKCS#8 (BEGIN PRIVATE KEY) and openssl is not there to convert it"
    pkcs8="$(openssl pkcs8 -topk8 -nocrypt -in "$f")" || die "openssl could not convert --tls-key $f to PKCS#8"
  else
    die "--tls-key $f holds no PEM private key"
  fi
  printf '%s\n' "$pkcs8" | awk 'NF { printf "%s%s", sep, $0; sep = " " }'
}

cmd_start() {
  local port="$DEFAULT_PORT" cport="" dir="$DEFAULT_DIR" sport="" cred
  local scram_users=()
  TLS_CERT="" TLS_KEY="" TLS_KEY_PKCS8="" PLAIN_USERS=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --sasl-port) [ $# -ge 2 ] || usage; sport="$2"; shift 2 ;;
      --sasl-port=*) sport="${1#*=}"; shift ;;
      --tls-cert) [ $# -ge 2 ] || usage; TLS_CERT="$2"; shift 2 ;;
      --tls-cert=*) TLS_CERT="${1#*=}"; shift ;;
      --tls-key) [ $# -ge 2 ] || usage; TLS_KEY="$2"; shift 2 ;;
      --tls-key=*) TLS_KEY="${1#*=}"; shift ;;
      --plain-user) [ $# -ge 2 ] || usage; PLAIN_USERS+=("$2"); shift 2 ;;
      --plain-user=*) PLAIN_USERS+=("${1#*=}"); shift ;;
      --scram-user) [ $# -ge 2 ] || usage; scram_users+=("$2"); shift 2 ;;
      --scram-user=*) scram_users+=("${1#*=}"); shift ;;
      --port) [ $# -ge 2 ] || usage; port="$2"; shift 2 ;;
      --port=*) port="${1#*=}"; shift ;;
      --controller-port) [ $# -ge 2 ] || usage; cport="$2"; shift 2 ;;
      --controller-port=*) cport="${1#*=}"; shift ;;
      --dir) [ $# -ge 2 ] || usage; dir="$2"; shift 2 ;;
      --dir=*) dir="${1#*=}"; shift ;;
      -h|--help) usage ;;
      *) die "start: unknown argument '$1'" ;;
    esac
  done
  check_port_arg "$port"
  [ -n "$cport" ] || cport=$((port + 1))
  check_port_arg "$cport"
  [ "$port" != "$cport" ] || die "--port and --controller-port must differ"
  if [ -n "$sport" ]; then
    check_port_arg "$sport"
    [[ $sport != "$port" && $sport != "$cport" ]] || die "--sasl-port must differ from --port and --controller-port"
    [[ -n $TLS_CERT && -n $TLS_KEY ]] || die "--sasl-port needs --tls-cert and --tls-key"
    [ -r "$TLS_CERT" ] || die "cannot read --tls-cert $TLS_CERT"
    [ -r "$TLS_KEY" ] || die "cannot read --tls-key $TLS_KEY"
    grep -q -- '-----BEGIN CERTIFICATE-----' "$TLS_CERT" || die "--tls-cert $TLS_CERT holds no PEM certificate"
    TLS_KEY_PKCS8="$(load_tls_key "$TLS_KEY")" || exit 1
    for cred in ${PLAIN_USERS[@]+"${PLAIN_USERS[@]}"}; do check_credential --plain-user "$cred"; done
    for cred in ${scram_users[@]+"${scram_users[@]}"}; do check_credential --scram-user "$cred"; done
  elif [ -n "$TLS_CERT$TLS_KEY" ] || [ ${#PLAIN_USERS[@]} -gt 0 ] || [ ${#scram_users[@]} -gt 0 ]; then
    die "--tls-cert, --tls-key, --plain-user and --scram-user need --sasl-port"
  fi
  need_java
  dir="$(abs_dir "$dir")"

  local pid
  pid="$(read_pid "$dir")"
  if [ -n "$pid" ]; then
    if pid_is_ours "$pid" "$dir"; then
      die "kafka already running for $dir (pid $pid); run '$PROG stop --dir $dir' first"
    fi
    rm -f "$dir/kafka.pid" # stale
  fi
  port_open "$port" && die "port $port in use on $HOST"
  port_open "$cport" && die "controller port $cport in use on $HOST"
  if [ -n "$sport" ] && port_open "$sport"; then die "SASL port $sport in use on $HOST"; fi

  classpath_ready || cmd_fetch

  local t0 log_opt
  t0=$(date +%s%N)
  write_server_properties "$dir" "$port" "$cport" "$sport"
  log_opt="$(write_log_config "$dir")"
  mkdir -p "$dir/data"

  # shellcheck disable=SC2206
  local java_cmd=(java $HEAP_OPTS $JVM_OPTS "$log_opt" -cp "$CLASSPATH_DIR/*")

  if [ -f "$dir/data/meta.properties" ]; then
    info "reusing formatted storage in $dir/data ($(grep '^cluster.id=' "$dir/data/meta.properties" || true))"
    if [ ${#scram_users[@]} -gt 0 ]; then
      info "warning: SCRAM credentials are only added when $dir/data is formatted; --scram-user ignored, the stored ones are kept"
    fi
  else
    local cid="${MCPTRAIL_KAFKA_CLUSTER_ID:-$(random_cluster_id)}" scram_args=() mech
    for cred in ${scram_users[@]+"${scram_users[@]}"}; do
      for mech in SCRAM-SHA-256 SCRAM-SHA-512; do
        scram_args+=(--add-scram "$mech=[name=${cred%%:*},password=${cred#*:}]")
      done
    done
    info "formatting $dir/data (cluster.id=$cid${scram_users[0]+, ${#scram_users[@]} SCRAM user(s)})"
    if ! "${java_cmd[@]}" kafka.tools.StorageTool format \
        -t "$cid" -c "$dir/server.properties" ${scram_args[@]+"${scram_args[@]}"} >"$dir/format.log" 2>&1; then
      tail -n 30 "$dir/format.log" >&2
      die "formatting storage failed (full output: $dir/format.log)"
    fi
  fi

  # Remember where this run's output starts, to look only at it below.
  touch "$dir/kafka.log"
  local log_off
  log_off=$(wc -c <"$dir/kafka.log" | tr -d ' ')
  echo "===== $(date '+%Y-%m-%d %H:%M:%S') $PROG start: kafka $KAFKA_VERSION on $HOST:$port (controller $cport${sport:+, SASL_SSL $sport})" >>"$dir/kafka.log"

  # The inner bash writes its own pid and then exec's java, so the pid file
  # holds the broker's pid. Background jobs of a non-interactive shell ignore
  # SIGINT, so ^C on the caller does not take the broker down.
  # shellcheck disable=SC2016
  nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' kafka-start \
    "$dir/kafka.pid" "${java_cmd[@]}" kafka.Kafka "$dir/server.properties" \
    >>"$dir/kafka.log" 2>&1 </dev/null &
  local launcher=$!

  local deadline=$(( $(date +%s) + START_TIMEOUT )) started=""
  while :; do
    pid="$(read_pid "$dir")"
    if ! kill -0 "${pid:-$launcher}" 2>/dev/null; then
      echo "----- last lines of $dir/kafka.log -----" >&2
      tail -c +"$((log_off + 1))" "$dir/kafka.log" | tail -n 40 >&2
      rm -f "$dir/kafka.pid"
      die "kafka exited during startup"
    fi
    if [ -z "$started" ] && tail -c +"$((log_off + 1))" "$dir/kafka.log" | grep -q 'Kafka Server started'; then
      started=1
    fi
    if [ -n "$started" ] && port_open "$port" && { [ -z "$sport" ] || port_open "$sport"; }; then
      break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "----- last lines of $dir/kafka.log -----" >&2
      tail -c +"$((log_off + 1))" "$dir/kafka.log" | tail -n 40 >&2
      if [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; then
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      fi
      rm -f "$dir/kafka.pid"
      die "kafka not ready on $HOST:$port after ${START_TIMEOUT}s (killed pid ${pid:-?})"
    fi
    sleep 0.2
  done
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  info "kafka $KAFKA_VERSION ready on $HOST:$port${sport:+ (SASL_SSL on $HOST:$sport)} in ${ms}ms (pid $pid, dir $dir, log $dir/kafka.log)"
  echo "KAFKA_ADDR=$HOST:$port"
  if [ -n "$sport" ]; then echo "KAFKA_SASL_ADDR=$HOST:$sport"; fi
}

# --- stop -------------------------------------------------------------------

cmd_stop() {
  local dir="$DEFAULT_DIR"
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) [ $# -ge 2 ] || usage; dir="$2"; shift 2 ;;
      --dir=*) dir="${1#*=}"; shift ;;
      -h|--help) usage ;;
      *) die "stop: unknown argument '$1'" ;;
    esac
  done
  [ -d "$dir" ] || { info "no kafka dir $dir; nothing to stop"; return 0; }
  dir="$(cd "$dir" && pwd)"
  local pid
  pid="$(read_pid "$dir")"
  if [ -z "$pid" ]; then
    info "no pid file in $dir; nothing to stop"
    return 0
  fi
  if ! pid_is_ours "$pid" "$dir"; then
    info "pid $pid from $dir/kafka.pid is not running (or is not this broker); removing stale pid file"
    rm -f "$dir/kafka.pid"
    return 0
  fi
  info "stopping kafka (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$(( $(date +%s) + STOP_TIMEOUT ))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      info "kafka (pid $pid) still running after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      break
    fi
    sleep 0.2
  done
  rm -f "$dir/kafka.pid"
  info "kafka stopped"
}

# --- status -----------------------------------------------------------------

cmd_status() {
  local dir="$DEFAULT_DIR"
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) [ $# -ge 2 ] || usage; dir="$2"; shift 2 ;;
      --dir=*) dir="${1#*=}"; shift ;;
      *) die "status: unknown argument '$1'" ;;
    esac
  done
  [ -d "$dir" ] && dir="$(cd "$dir" && pwd)"
  local pid
  pid="$(read_pid "$dir" 2>/dev/null || true)"
  if [ -n "$pid" ] && pid_is_ours "$pid" "$dir"; then
    info "running (pid $pid, dir $dir)"
    # advertised.listeners=PLAINTEXT://H:P[,SASL_SSL://H:S]
    sed -n 's#^advertised.listeners=##p' "$dir/server.properties" | tr ',' '\n' | sed -n \
      -e 's#^PLAINTEXT://#KAFKA_ADDR=#p' -e 's#^SASL_SSL://#KAFKA_SASL_ADDR=#p'
    return 0
  fi
  info "not running (dir $dir)"
  return 1
}

# --- main -------------------------------------------------------------------

[ $# -ge 1 ] || usage
sub="$1"; shift
case "$sub" in
  fetch) [ $# -eq 0 ] || die "fetch takes no arguments"; cmd_fetch ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  -h|--help|help) usage ;;
  *) die "unknown command '$sub'" ;;
esac
