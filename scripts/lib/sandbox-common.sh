# shellcheck shell=bash
# Sourced by scripts/sandbox: state paths, the sandbox user, the client key and process helpers.

# shellcheck disable=SC2034 # also used by the other sandbox-*.sh files
SBX_USER=cfsandbox
# shellcheck disable=SC2034
SBX_ROOT=/srv/clawfleet-sandbox
SBX_MAX=100
STATE=${CLAWFLEET_SANDBOX_DIR:-$REPO/.sandbox}

# The reason also goes to <state>/last-error, for the test suite's setup to quote.
die() {
  echo "sandbox: $*" >&2
  if [ -d "$STATE" ]; then echo "$*" >"$STATE/last-error" 2>/dev/null || true; fi
  exit 1
}

host_name() { echo "sbx-$1"; }
host_dir() { echo "$STATE/sbx-$1"; }

# Indexes of hosts that have ever been configured in this state dir, ascending.
known_hosts() {
  local i
  for ((i = 1; i <= SBX_MAX; i++)); do
    [ -f "$STATE/sbx-$i/sshd_config" ] && echo "$i"
  done
  return 0
}

# Serialises start/stop/rekey/weak: test runs of several engineers may call us at once.
# Every daemon we start gets `9>&-`, or it would hold the lock for its whole life.
take_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  flock -w 300 9 || die "timed out waiting for $STATE/lock"
}

# True while the process exists and is not a zombie (our PID 1 may never reap it).
# Builtins only: status and a no-op start run this for every host, up to 100 of them.
proc_alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Prints the pid in pidfile $1 if that process is alive and its command line contains $2.
# The marker guards against a recycled pid.
live_pid() {
  local pid
  local -a argv
  [ -s "$1" ] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid" || return 1
  { mapfile -d '' argv <"/proc/$pid/cmdline"; } 2>/dev/null || return 1
  [[ " ${argv[*]} " == *"$2"* ]] || return 1
  echo "$pid"
}

# Stops a daemon we started, and its direct children (an sshd's live sessions).
stop_pid() {
  local pid=$1 child
  for child in $(pgrep -P "$pid" || true); do kill -TERM "$child" 2>/dev/null || true; done
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 500); do
    proc_alive "$pid" || return 0
    sleep 0.01
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Cached next to the key: ssh-keygen for every host on every call adds up at N=100.
fingerprint_of() { # public key file
  if [ ! -s "$1.fp" ] || [ "$1" -nt "$1.fp" ]; then ssh-keygen -lf "$1" | awk '{print $2}' >"$1.fp"; fi
  echo "$(<"$1.fp")"
}

# The login user: in group docker, shadow password `*` (sshd refuses a locked `!` account even
# for keys, since UsePAM is off) and empty dotfiles, because shell startup cost skews timings.
ensure_user() {
  local home
  if ! id "$SBX_USER" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash --groups docker "$SBX_USER"
  fi
  id -nG "$SBX_USER" | tr ' ' '\n' | grep -qx docker || usermod -aG docker "$SBX_USER"
  [ "$(getent shadow "$SBX_USER" | cut -d: -f2)" = '*' ] || usermod -p '*' "$SBX_USER"
  home=$(getent passwd "$SBX_USER" | cut -d: -f6)
  for f in .bashrc .profile .bash_logout; do
    if [ -s "$home/$f" ] || [ ! -e "$home/$f" ]; then
      : >"$home/$f"
      chown "$SBX_USER:" "$home/$f"
    fi
  done
  install -d -m 0700 -o "$SBX_USER" -g "$SBX_USER" "$home/.ssh"
  touch "$home/.ssh/authorized_keys"
  # Append rather than overwrite: another state dir's key may be authorised too.
  grep -qxF "$(<"$STATE/id_ed25519.pub")" "$home/.ssh/authorized_keys" ||
    cat "$STATE/id_ed25519.pub" >>"$home/.ssh/authorized_keys"
  chown "$SBX_USER:" "$home/.ssh/authorized_keys"
  chmod 0600 "$home/.ssh/authorized_keys"
}

ensure_client_key() {
  [ -f "$STATE/id_ed25519" ] ||
    ssh-keygen -q -t ed25519 -N '' -C clawfleet-sandbox-client -f "$STATE/id_ed25519"
}

# Refuses, naming the holder and the fix, when something else listens on ADDR:PORT. Usually that
# is another clone's sandbox (its own state dir, the same 127.0.1.i addresses): one at a time.
claim_address() { # addr:port
  local line pid cmd other
  line=$(ss -Hltnp 2>/dev/null | awk -v a="$1" '$4 == a' | head -n 1)
  [ -n "$line" ] || return 0
  pid=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' <<<"$line" | head -n 1)
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  other=$(sed -n 's#.* -f \(/[^ ]*\)/sbx-[0-9]*/.*#\1#p' <<<"$cmd")
  if [ -n "$other" ] && [ "$other" != "$STATE" ]; then
    die "$1 is in use by another sandbox, $other (sshd pid $pid). One sandbox at a time can use" \
      "these addresses. Stop it first with \`CLAWFLEET_SANDBOX_DIR=$other bash scripts/sandbox stop\`" \
      "(or \`bash scripts/sandbox stop\` in its clone), then run this again."
  fi
  die "$1 is in use by pid ${pid:-?} (${cmd:-unknown command}). Stop that process, then run this again."
}
