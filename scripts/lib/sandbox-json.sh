# shellcheck shell=bash
# Sourced by scripts/sandbox: hosts.json and weak.json, read by tests, the demo and benchmarks.

# One host as JSON. Every value is a path, address or key we generated, so none needs escaping.
host_json() { # name address port directAddress directPort rtt keydir keytype remoteRoot
  local pub="$7/ssh_host_$8_key.pub" type key
  read -r type key _ <"$pub"
  printf '{"name": "%s", "address": "%s", "port": %s, "user": "%s", "identityFile": "%s", ' \
    "$1" "$2" "$3" "$SBX_USER" "$STATE/id_ed25519"
  printf '"fingerprint": "%s", "hostKey": "%s %s", "remoteRoot": "%s", ' \
    "$(fingerprint_of "$pub")" "$type" "$key" "$9"
  printf '"directAddress": "%s", "directPort": %s, "rttMs": %s, ' "$4" "$5" "$6"
  # Each host's ingress proxy gets the host's own loopback address for 80/443.
  printf '"ingressAddress": "%s", "proxyImage": "%s"}' "$4" "$(cat "$STATE/proxy-image" 2>/dev/null || true)"
}

# Lists every running host; with rtt > 0, hosts whose proxy runs are addressed through it.
write_hosts_json() { # rtt
  local i sep="" addr rtt entries=""
  for i in $(known_hosts); do
    sshd_up "$(host_dir "$i")" || continue
    addr=127.0.1.$i rtt=0
    if [ "$1" != 0 ] && proxy_up "$i"; then addr=127.0.2.$i rtt=$(<"$(host_dir "$i")/proxy.rtt"); fi
    entries+="$sep  $(host_json "$(host_name "$i")" "$addr" 2222 "127.0.1.$i" 2222 "$rtt" \
      "$(host_dir "$i")" ed25519 "$SBX_ROOT/$(host_name "$i")")"
    sep=$',\n'
  done
  if [ -n "$entries" ]; then entries=$'\n'"$entries"$'\n'; fi
  printf '[%s]\n' "$entries" >"$STATE/hosts.json.tmp"
  mv "$STATE/hosts.json.tmp" "$STATE/hosts.json"
}

write_weak_json() { # index
  local dir
  dir="$(host_dir "$1")/weak"
  host_json "$(host_name "$1")-weak" "127.0.1.$1" 2223 "127.0.1.$1" 2223 0 "$dir" rsa \
    "$SBX_ROOT/$(host_name "$1")" >"$dir/weak.json"
  echo >>"$dir/weak.json"
}
