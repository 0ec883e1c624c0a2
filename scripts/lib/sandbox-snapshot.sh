# shellcheck shell=bash
# Sourced by scripts/sandbox: what runs now (snapshot), and putting the sandbox back to that
# (restore). The test suite snapshots before it starts the sandbox and restores after, so it
# leaves nothing running that it started, and keeps what a demo or an earlier run had up.

# Docker objects clawfleet makes: its containers (instances, proxies) and their compose projects.
clawfleet_containers() {
  { docker ps -aq --no-trunc --filter label=io.clawfleet.managed=true
    docker ps -aq --no-trunc --filter label=io.clawfleet.proxy=true; } | sort -u
}

# Volumes and networks of compose projects named cf-* (instances) or carrying a clawfleet label.
clawfleet_objects() { # volume|network
  docker "$1" ls --format '{{.Name}}' --filter label=com.docker.compose.project |
    xargs -r docker "$1" inspect -f '{{.Name}} {{index .Labels "com.docker.compose.project"}}' |
    awk '$2 ~ /^cf-/ {print $1}'
  docker "$1" ls --format '{{.Name}}' --filter label=io.clawfleet.managed=true
  docker "$1" ls --format '{{.Name}}' --filter label=io.clawfleet.proxy=true
}

cmd_snapshot() {
  local i dir
  for i in $(known_hosts); do
    dir=$(host_dir "$i")
    if sshd_up "$dir"; then echo "host $i"; fi
    if sshd_up "$dir/weak"; then echo "weak $i"; fi
    if proxy_up "$i"; then echo "proxy $i"; fi
  done
  for dir in "$STATE"/nosftp-*; do
    if sshd_up "$dir"; then echo "extra ${dir##*/}"; fi
  done
  if timeout 10 docker info >/dev/null 2>&1; then
    clawfleet_containers | sed 's/^/container /'
    clawfleet_objects volume | sort -u | sed 's/^/volume /'
    clawfleet_objects network | sort -u | sed 's/^/network /'
  fi
}

cmd_restore() { # snapshot file
  local file=${1:-} i dir
  [ -f "$file" ] || die "restore needs the file \`scripts/sandbox snapshot\` wrote, got '${file}'"
  require_root
  take_lock
  had() { grep -qxF "$1" "$file"; }
  for i in $(known_hosts); do
    dir=$(host_dir "$i")
    had "proxy $i" || stop_proxy "$i"
    had "weak $i" || stop_sshd "$dir/weak"
    if ! had "host $i" && sshd_up "$dir"; then stop_sshd "$dir"; echo "$(host_name "$i") stopped"; fi
  done
  for dir in "$STATE"/nosftp-*; do
    had "extra ${dir##*/}" || stop_sshd "$dir"
  done
  write_hosts_json "$(cat "$STATE/rtt" 2>/dev/null || echo 0)"
  remove_docker_except "$file"
}

# Removes clawfleet's containers, volumes and networks that FILE (a snapshot) does not list;
# /dev/null removes them all. It says how many containers went.
remove_docker_except() { # file
  local id kind n=0
  timeout 10 docker info >/dev/null 2>&1 || { echo "docker is not running; containers were not removed" >&2; return 0; }
  for id in $(clawfleet_containers); do
    grep -qxF "container $id" "$1" || { docker rm -f "$id" >/dev/null; n=$((n + 1)); }
  done
  for kind in volume network; do
    for id in $(clawfleet_objects "$kind" | sort -u); do
      grep -qxF "$kind $id" "$1" || docker "$kind" rm "$id" >/dev/null 2>&1 || true
    done
  done
  echo "removed $n container(s), and their volumes and networks"
}
