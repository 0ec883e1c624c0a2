#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Makes sure Docker Engine and Compose v1 are installed and dockerd answers.
# dockerd is not a systemd service on the sandbox machines, so we start it ourselves.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=apt.sh
source "$here/apt.sh"

ensure_packages docker.io docker-compose

docker_up() { timeout 10 docker info >/dev/null 2>&1; }

if docker_up; then exit 0; fi

# A dockerd that died leaves its pid file behind, and a new one refuses to start over it.
pidfile=/var/run/docker.pid
if [ -s "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  rm -f "$pidfile"
fi

# Docker's default address pools hold about 30 bridge networks, and every instance has its own: a
# shared host (and the sandbox, where all hosts share this engine) carries more. /24s out of
# 10.128.0.0/12 give 4096. Only written when absent: an operator's own daemon.json wins.
if [ ! -e /etc/docker/daemon.json ]; then
  mkdir -p /etc/docker
  printf '{\n  "default-address-pools": [{ "base": "10.128.0.0/12", "size": 24 }]\n}\n' >/etc/docker/daemon.json
fi

if ! pgrep -x dockerd >/dev/null; then
  echo "starting dockerd (log: /var/log/dockerd.log)" >&2
  # setsid: the daemon must outlive this script and its caller's process group. It runs in / with
  # a clean environment, as a service manager would start it: it never holds the caller's
  # checkout as its working directory, nor inherits the caller's variables (secrets included).
  (cd / && exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    setsid nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null) &
fi

for _ in $(seq 1 120); do
  if docker_up; then exit 0; fi
  sleep 0.5
done
echo "dockerd did not answer within 60s; last log lines:" >&2
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
