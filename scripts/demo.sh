#!/usr/bin/env bash
# End-to-end demo on a local sandbox VPS: start it, register it with a pinned key, provision "demo" (pro),
# and prove the instance healthy over HTTP. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sandbox_dir="${CLAWFLEET_SANDBOX_DIR:-$root/.sandbox}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Starting the sandbox VPS (real sshd + Docker)"
bash scripts/sandbox start 1

# The demo keeps its own database so it never touches a real inventory.
export CLAWFLEET_DATABASE_URL="${CLAWFLEET_DATABASE_URL:-file:$sandbox_dir/demo.db}"
cf() { node "$root/bin/clawfleet.js" "$@"; }

host_json=$(node -e 'const h=require(process.argv[1])[0]; console.log(JSON.stringify(h))' "$sandbox_dir/hosts.json")
field() { node -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$host_json" "$1"; }
name=$(field name); user=$(field user); addr=$(field address); port=$(field port)
key=$(field identityFile); fp=$(field fingerprint); remote_root=$(field remoteRoot)

step "Registering $name with its host key pinned"
if cf hosts list --json | node -e 'process.exit(JSON.parse(require("fs").readFileSync(0,"utf8")).hosts.some(h=>h.name===process.argv[1])?0:1)' "$name"; then
  echo "$name is already registered"
else
  cf hosts add "$name" --ssh "$user@$addr:$port" --identity "$key" --host-key "$fp" --remote-root "$remote_root"
fi
cf hosts list

step "Provisioning customer demo on the pro plan"
result="$sandbox_dir/demo-result.json"
set +e
cf provision --customer-id demo --plan pro --host "$name" --image clawfleet-test-gateway:1.0 --json > "$result.tmp"
code=$?
set -e
if [ "$code" = 4 ] && [ -s "$result" ]; then
  echo "demo is already provisioned (exit 4 = conflict); its token was shown on the first run and is not stored"
elif [ "$code" != 0 ]; then
  exit "$code"
else
  # shellcheck disable=SC2016 # JS template literals, not shell
  node -e '
    const fs = require("fs");
    const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8").trim().split("\n").pop());
    console.log(`URL (on the host):  ${r.url}`);
    console.log(`reach it:           ${r.sshTunnel}`);
    console.log(`gateway token:      ${r.gatewayToken}   <- shown once, not stored`);
    console.log(`took ${r.durationMs} ms`);
    delete r.gatewayToken;
    fs.writeFileSync(process.argv[1], JSON.stringify(r));
  ' "$result.tmp"
  mv "$result.tmp" "$result"
fi
rm -f "$result.tmp"

url=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).url)' "$result")
step "Proving it healthy: GET ${url}healthz (the sandbox shares this machine's loopback)"
curl -fsS "${url}healthz"; echo
echo
echo "Done. Try: CLAWFLEET_DATABASE_URL=$CLAWFLEET_DATABASE_URL node bin/clawfleet.js hosts list"
