#!/usr/bin/env bash
# dovecot.sh — a throwaway, real Dovecot IMAP server for the e-mail channel tests.
#
# Adapted from the team's dovecot-for-tests.sh (Debian 12, Dovecot 2.3). No systemd, no
# /etc/dovecot changes, nothing outside one directory. Loopback only, plaintext auth allowed,
# Maildir storage, users in passwd-files (one per user) that can be added while it runs.
# Works as root (CI) and as an ordinary user (dev laptops).
#
# Usage
#   eval "$(dovecot.sh start)"              # prints DOVECOT_* shell assignments
#   dovecot.sh adduser DIR USER PASSWORD    # at any time, also while running
#   dovecot.sh save DIR USER [MAILBOX] < msg.eml   # needs the server running
#   dovecot.sh stop DIR                     # stops the server, keeps DIR (mail, users, log)
#   dovecot.sh kill DIR                     # SIGKILLs it, like a crash; keeps DIR
#   dovecot.sh start                        # with DOVECOT_DIR=DIR again: same port, same mail
#   dovecot.sh purge DIR                    # stops if running, then deletes DIR
#
# Environment knobs (all optional)
#   DOVECOT_DIR        directory to use (created); default: mktemp -d. If it already holds a
#                      configuration from an earlier "start", that one is reused as it is
#                      (port, users, mail): this is how a test restarts the server.
#   DOVECOT_PORT       IMAP port for a new DIR; a number or "auto" (default: a free port).
#   DOVECOT_TLS_PORT   if set (number or "auto"), also open an IMAPS listener with a
#                      self-signed cert (needs openssl). STARTTLS is offered then too.
#   DOVECOT_USERS      space-separated user:password pairs for a new DIR (default: none;
#                      add users with "adduser").
#   DOVECOT_MAIL_USER  as root only: system user that owns the Maildirs (default nobody).
#                      Ignored when not root. It must be able to traverse DIR's parents.
#   DOVECOT_START_TIMEOUT  seconds to wait for the "* OK" greeting (default 15).
#
# Output of "start" (stdout, one assignment per line, also saved to $DIR/env):
#   DOVECOT_HOST=127.0.0.1 DOVECOT_PORT=... DOVECOT_DIR=... DOVECOT_PID=...
#   [DOVECOT_TLS_PORT=... DOVECOT_TLS_CERT=...]
# Log: $DIR/dovecot.log. Start ~0.1 s, stop and kill ~0.05 s.
#
# Traps this script deals with (each met in practice):
#   - As root, login processes die ("must not be run as root") while the port still listens:
#     a TCP connect is not readiness, so "start" waits for the "* OK" greeting; the config
#     sets default_login_user=dovenull, default_internal_user=dovecot, a non-root mail uid.
#     That uid must traverse DIR's parents (pytest makes its temp dirs 0700): checked.
#   - Failed logins are delayed ~4.5 s by anvil's auth penalty: switched off (a wrong
#     password still takes ~0.5 s, Dovecot's failure flush timer).
#   - mail_max_userip_connections defaults to 10: raised to 200 for parallel tests.
#   - A passwd-file is stat'ed at most once a second: a user appended to a shared file is
#     unknown for up to 1 s. Hence one file per user. A ':' in a password truncates it: refused.
#   - The auth process reads passwd-files as default_internal_user: they stay world-readable.
#   - An exited master stays a zombie until PID 1 reaps it, which some container inits do only
#     every ~2 s; Dovecot counts the zombie's pid as "already running". "stop" treats zombies
#     as gone and "start" removes the stale master.pid.
#   - SIGTERM to the master alone takes ~1 s and leaves imap processes whose client was active
#     in the last second serving it for up to 30 s: "stop" signals the whole process group.
#   - The log survives restarts: "start" looks for "Fatal:" only in what this start wrote.
#   - Dovecot 2.4 (Debian 13) changed the config format: this targets 2.3.
set -euo pipefail

# Debian puts dovecot in /usr/sbin, which is not on an ordinary user's PATH.
PATH="$PATH:/usr/sbin:/sbin"

log() { printf 'dovecot.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

port_in_use() {  # true if something accepts connections on 127.0.0.1:$1
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {  # ask the kernel for a free loopback port
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
  else
    local p
    for p in $(seq 20143 20943); do port_in_use "$p" || { echo "$p"; return; }; done
    die "no free port found"
  fi
}

pick_port() {  # $1 = requested ("auto", "" or a number)
  local want=${1:-auto}
  if [[ $want == auto ]]; then free_port; return; fi
  [[ $want =~ ^[0-9]+$ ]] || die "not a port: $want"
  port_in_use "$want" && die "port $want is already in use"
  echo "$want"
}

wait_greeting() {  # $1 dir, $2 port, $3 pid, $4 timeout seconds, $5 log offset of this start
  local d=$1 port=$2 pid=$3 deadline=$((SECONDS + $4)) from=$(($5 + 1)) line
  while (( SECONDS < deadline )); do
    alive "$pid" || return 1
    tail -c "+$from" "$d/dovecot.log" 2>/dev/null | grep -q 'Fatal:' && return 1
    if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
      line=""
      IFS= read -r -t 2 line <&3 || true
      exec 3<&- 3>&-
      [[ $line == "* OK"* ]] && return 0
    fi
    sleep 0.02
  done
  return 1
}

add_user() {  # $1 dir, $2 user, $3 password
  local d=$1 user=$2 pass=$3 tmp
  # the user name is a file name here; a passwd-file is ':'-separated, and a ':' in the
  # password silently truncates it
  [[ $user =~ ^[A-Za-z0-9][A-Za-z0-9._+@-]*$ ]] || die "bad user name: '$user'"
  [[ $pass != *:* ]] || die "':' is not allowed in a password ($user)"
  [[ -n $pass && $pass != *[[:space:]]* ]] || die "empty password or whitespace in it ($user)"
  tmp=$(mktemp "$d/users/.new.XXXXXX")
  printf '%s:{PLAIN}%s\n' "$user" "$pass" >"$tmp"
  chmod 644 "$tmp"   # the auth process reads it as default_internal_user
  # link(2) is atomic and fails if the name exists: Dovecot never sees a half-written file
  if ! ln "$tmp" "$d/users/$user" 2>/dev/null; then rm -f "$tmp"; die "user exists: $user"; fi
  rm -f "$tmp"
}

write_config() {  # $1 dir, $2 port, $3 tls port or ""
  local d=$1 port=$2 tls=$3 login_user internal_user internal_group uid gid first_uid
  local chroot_line="# (root: default chroot kept)"
  if [[ $EUID -eq 0 ]]; then
    # Login/internal processes refuse to run as root ("This process must not be
    # run as root"); use the accounts the Debian package creates.
    login_user=dovenull; internal_user=dovecot; internal_group=dovecot
    local mu=${DOVECOT_MAIL_USER:-nobody}
    uid=$(id -u "$mu"); gid=$(id -g "$mu")
  else
    login_user=$(id -un); internal_user=$login_user; internal_group=$(id -gn)
    uid=$(id -u); gid=$(id -g)
    chroot_line="chroot ="   # chroot(2) needs root: login/anvil would die
  fi
  first_uid=$(( uid < 500 ? (uid == 0 ? 1 : uid) : 500 ))

  cat >"$d/dovecot.conf" <<EOF
# Generated by tests/channels/email/dovecot.sh — test use only.
protocols = imap
listen = 127.0.0.1
base_dir = $d/run
state_dir = $d/state
instance_name = dovecot-test-$port
log_path = $d/dovecot.log
info_log_path = $d/dovecot.log
default_login_user = $login_user
default_internal_user = $internal_user
default_internal_group = $internal_group
first_valid_uid = $first_uid

disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
# no cache: a user added at runtime is seen at once
auth_cache_size = 0

mail_location = maildir:~/Maildir
mail_fsync = never
# inotify wakes IDLE (after Dovecot's ~0.5 s notify batching); this is only the fallback poll
mailbox_idle_check_interval = 1 secs
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
}
# default is 10 connections per user+IP: parallel tests hit it
protocol imap {
  mail_max_userip_connections = 200
}

# One passwd-file per user: Dovecot stats a passwd-file at most once a second, so a user
# appended to a shared file stays unknown for up to 1 s; a new file is read at first use.
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/users/%u
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$d/mail/%u
}

# No anvil auth penalty: otherwise every failed login from 127.0.0.1 delays the
# next auth from 127.0.0.1 by 2..15 s (tests of wrong passwords get slow).
service anvil {
  $chroot_line
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}

service imap-login {
  $chroot_line
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${tls:-0}
  }
}
EOF
  if [[ -n $tls ]]; then
    cat >>"$d/dovecot.conf" <<EOF
ssl = yes
ssl_cert = <$d/tls/cert.pem
ssl_key = <$d/tls/key.pem
EOF
  else
    echo "ssl = no" >>"$d/dovecot.conf"
  fi

  mkdir -p "$d/users"
  local pair
  for pair in ${DOVECOT_USERS:-}; do
    [[ $pair == *:* ]] || die "bad DOVECOT_USERS entry: $pair"
    add_user "$d" "${pair%%:*}" "${pair#*:}"
  done
  # mail dir owned by the mail uid; the tree must be traversable by it
  mkdir -p "$d/mail" "$d/run" "$d/state"
  chmod 755 "$d"
  if [[ $EUID -eq 0 ]]; then
    chown "$uid:$gid" "$d/mail"
    if command -v setpriv >/dev/null 2>&1 \
      && ! setpriv --reuid="$uid" --regid="$gid" --clear-groups test -w "$d/mail"; then
      die "uid $uid cannot reach $d/mail: give its parent directories o+x"
    fi
  fi
  {
    echo "DOVECOT_HOST=127.0.0.1"
    echo "DOVECOT_PORT=$port"
    if [[ -n $tls ]]; then
      echo "DOVECOT_TLS_PORT=$tls"
      echo "DOVECOT_TLS_CERT=$d/tls/cert.pem"
    fi
    echo "DOVECOT_DIR=$d"
  } >"$d/env"
}

make_cert() {  # $1 dir
  command -v openssl >/dev/null || die "DOVECOT_TLS_PORT needs openssl"
  mkdir -p "$1/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$1/tls/key.pem" -out "$1/tls/cert.pem" >/dev/null 2>&1
  chmod 600 "$1/tls/key.pem"
}

env_value() {  # $1 dir, $2 name: a value from the env file "start" wrote
  sed -n "s/^$2=//p" "$1/env"
}

alive() {  # true if pid $1 runs and is not a zombie
  local state
  kill -0 "$1" 2>/dev/null || return 1
  # An exited daemon stays a zombie until PID 1 reaps it, and some container inits reap only
  # every few seconds: count a zombie as gone (it holds no sockets any more).
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || true
  [[ $state != Z ]]
}

master_pid() {  # $1 dir: the pid of this instance's running master, or nothing
  local d=$1 pid
  [[ -s $d/run/master.pid ]] || return 0
  pid=$(cat "$d/run/master.pid")
  alive "$pid" || return 0
  # a stale pid file could name a recycled pid: only report our own master
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$d/dovecot.conf" || return 0
  echo "$pid"
}

cmd_start() {
  command -v dovecot >/dev/null || die "dovecot is not installed (make system-deps)"
  local d port pid=""
  d=${DOVECOT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/dovecot-test.XXXXXX")}
  mkdir -p "$d"; d=$(cd "$d" && pwd)
  if [[ -f $d/dovecot.conf && -f $d/env ]]; then
    [[ -z $(master_pid "$d") ]] || die "already running (dir: $d)"
    port=$(env_value "$d" DOVECOT_PORT)   # a restart: same port, users and mail
    port_in_use "$port" && die "port $port is already in use"
  else
    port=$(pick_port "${DOVECOT_PORT:-}")
    local tls=""
    if [[ -n ${DOVECOT_TLS_PORT:-} ]]; then
      tls=$(pick_port "$DOVECOT_TLS_PORT"); make_cert "$d"
    fi
    write_config "$d" "$port" "$tls"
  fi
  # Dovecot refuses to start while master.pid names a live pid, and a zombie counts as live
  # for it: master_pid found none of ours running, so the file is stale.
  rm -f "$d/run/master.pid"
  local log_offset
  log_offset=$(stat -c %s "$d/dovecot.log" 2>/dev/null || echo 0)   # the log survives restarts
  # Without -F dovecot daemonizes; config errors are printed and exit non-zero.
  if ! dovecot -c "$d/dovecot.conf" 2>"$d/startup.err"; then
    cat "$d/startup.err" >&2; die "dovecot failed to start (dir: $d)"
  fi
  for _ in $(seq 1 250); do
    [[ -s $d/run/master.pid ]] && { pid=$(cat "$d/run/master.pid"); break; }
    sleep 0.02
  done
  [[ -n $pid ]] || die "no master.pid in $d/run"
  if ! wait_greeting "$d" "$port" "$pid" "${DOVECOT_START_TIMEOUT:-15}" "$log_offset"; then
    tail -c "+$((log_offset + 1))" "$d/dovecot.log" | tail -n 20 >&2 || true
    kill "$pid" 2>/dev/null || true
    die "dovecot did not greet on 127.0.0.1:$port (dir kept: $d)"
  fi
  cat "$d/env"
  echo "DOVECOT_PID=$pid"
  log "ready on 127.0.0.1:$port (pid $pid, dir $d)"
}

group_alive() {  # true if a live (non-zombie) process is left in process group $1
  local p
  for p in $(ps -o pid= -g "$1" 2>/dev/null); do alive "$p" && return 0; done
  return 1
}

cmd_stop() {  # $1 dir: SIGTERM to every process of the instance; clients get "* BYE"
  local d=${1:?usage: $0 stop DIR} pid
  [[ -f $d/dovecot.conf ]] || die "$d is not a dovecot.sh dir"
  pid=$(master_pid "$d")
  [[ -n $pid ]] || return 0
  # TERM to the master alone lets imap processes with a recently active client live on for up
  # to 30 s: a "stopped" server would still answer. The daemonized master leads its own process
  # group, which all its children share: TERM them all at once.
  if [[ $(ps -o pgid= -p "$pid" | tr -d ' ') == "$pid" ]]; then
    kill -TERM -- "-$pid"
    for _ in $(seq 1 250); do group_alive "$pid" || return 0; sleep 0.02; done
    log "instance $pid ignored TERM for 5 s; KILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
  else
    kill -TERM "$pid"
    for _ in $(seq 1 250); do alive "$pid" || return 0; sleep 0.02; done
    log "master $pid ignored TERM for 5 s; KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

cmd_kill() {  # $1 dir: SIGKILL the whole instance, like a crash (clients just lose the line)
  local d=${1:?usage: $0 kill DIR} pid port
  [[ -f $d/dovecot.conf ]] || die "$d is not a dovecot.sh dir"
  pid=$(master_pid "$d")
  [[ -n $pid ]] || return 0
  port=$(env_value "$d" DOVECOT_PORT)
  # the daemonized master leads its own process group, which all its children share
  if [[ $(ps -o pgid= -p "$pid" | tr -d ' ') == "$pid" ]]; then
    kill -KILL -- "-$pid"
  else
    kill -KILL "$pid"
  fi
  for _ in $(seq 1 500); do
    if ! alive "$pid" && ! port_in_use "$port"; then return 0; fi
    sleep 0.02
  done
  die "instance $pid still up after KILL"
}

cmd_purge() {  # $1 dir
  local d=${1:?usage: $0 purge DIR}
  cmd_stop "$d"
  rm -rf "$d"
}

cmd_adduser() {  # $1 dir, $2 user, $3 password: Dovecot knows the user at once
  local d=${1:?usage: $0 adduser DIR USER PASSWORD}
  [[ -d $d/users ]] || die "$d is not a dovecot.sh dir"
  add_user "$d" "${2:?user}" "${3:?password}"
}

cmd_save() {  # $1 dir, $2 user, $3 mailbox; message on stdin
  local d=${1:?usage: $0 save DIR USER [MAILBOX] < msg} user=${2:?user} box=${3:-INBOX}
  [[ -f $d/dovecot.conf ]] || die "$d is not a dovecot.sh dir"
  if [[ $box != INBOX ]] \
    && ! doveadm -c "$d/dovecot.conf" mailbox status -u "$user" messages "$box" >/dev/null 2>&1
  then
    doveadm -c "$d/dovecot.conf" mailbox create -u "$user" "$box"
  fi
  doveadm -c "$d/dovecot.conf" save -u "$user" -m "$box"
}

case ${1:-} in
  start)   cmd_start ;;
  stop)    shift; cmd_stop "$@" ;;
  kill)    shift; cmd_kill "$@" ;;
  purge)   shift; cmd_purge "$@" ;;
  adduser) shift; cmd_adduser "$@" ;;
  save)    shift; cmd_save "$@" ;;
  *) awk 'NR > 1 && /^# Traps/ { exit } NR > 1' "$0" >&2; exit 2 ;;
esac
