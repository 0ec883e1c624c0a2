# shellcheck shell=bash
# Sourced by scripts/sandbox: a delay proxy on 127.0.2.i:2222 in front of host i's sshd.

proxy_marker() { echo "--listen 127.0.2.$1:2222"; }

proxy_up() { live_pid "$(host_dir "$1")/proxy.pid" "$(proxy_marker "$1")" >/dev/null; }

stop_proxy() { # index
  local dir pid
  dir=$(host_dir "$1")
  if pid=$(live_pid "$dir/proxy.pid" "$(proxy_marker "$1")"); then stop_pid "$pid"; fi
  rm -f "$dir/proxy.pid" "$dir/proxy.rtt"
}

# Starts host i's proxy, restarting it when it runs with another RTT.
ensure_proxy() { # index rtt-ms
  local i=$1 rtt=$2 dir
  dir=$(host_dir "$i")
  if proxy_up "$i" && [ "$(cat "$dir/proxy.rtt" 2>/dev/null)" = "$rtt" ]; then return 0; fi
  stop_proxy "$i"
  : >"$dir/proxy.log"
  # shellcheck disable=SC2046 # the marker is two words on purpose
  setsid nohup node "$REPO/scripts/delay-proxy.mjs" $(proxy_marker "$i") \
    --target "127.0.1.$i:2222" --rtt "$rtt" >"$dir/proxy.log" 2>&1 </dev/null 9>&- &
  # The proxy reports its own pid: setsid may or may not fork, so $! is not reliable.
  for _ in $(seq 1 50); do
    if grep -q '^listening' "$dir/proxy.log"; then
      sed -n 's/^listening.* pid \([0-9]*\)$/\1/p' "$dir/proxy.log" >"$dir/proxy.pid"
      echo "$rtt" >"$dir/proxy.rtt"
      proxy_up "$i" && return 0
    fi
    sleep 0.1
  done
  die "delay proxy for $(host_name "$i") did not start: $(tail -n 3 "$dir/proxy.log")"
}
