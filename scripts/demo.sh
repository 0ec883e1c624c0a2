#!/usr/bin/env bash
# End-to-end demo on a local sandbox VPS: start it, register it with a pinned key, provision "demo" (pro)
# behind the host's Caddy at https://demo.clawfleet.test/, and prove it healthy and the login exchange
# over HTTPS. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sandbox_dir="${CLAWFLEET_SANDBOX_DIR:-$root/.sandbox}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Starting the sandbox VPS (real sshd + Docker)"
bash scripts/sandbox start 1

# The demo keeps its own database so it never touches a real inventory.
export CLAWFLEET_DATABASE_URL="${CLAWFLEET_DATABASE_URL:-file:$sandbox_dir/demo.db}"
export CLAWFLEET_BACKUP_DIR="${CLAWFLEET_BACKUP_DIR:-$sandbox_dir/demo-backups}"
cf() { node "$root/bin/clawfleet.js" "$@"; }

# The shipped plans plus an ingress section: Caddy's local CA (tls internal), there is no ACME here.
plans="$sandbox_dir/demo-plans.yaml"
proxy_image=$(node -e 'console.log(require(process.argv[1])[0].proxyImage)' "$sandbox_dir/hosts.json")
{ cat templates/plans.yaml; printf '\ningress:\n  domain: clawfleet.test\n  tls: internal\n  image: %s\n' "$proxy_image"; } >"$plans"
export CLAWFLEET_PLANS="$plans"

host_json=$(node -e 'const h=require(process.argv[1])[0]; console.log(JSON.stringify(h))' "$sandbox_dir/hosts.json")
field() { node -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$host_json" "$1"; }
name=$(field name); user=$(field user); addr=$(field address); port=$(field port)
key=$(field identityFile); fp=$(field fingerprint); remote_root=$(field remoteRoot)
ingress_addr=$(field ingressAddress)

step "Registering $name with its host key pinned"
if cf hosts list --json | node -e 'process.exit(JSON.parse(require("fs").readFileSync(0,"utf8")).hosts.some(h=>h.name===process.argv[1])?0:1)' "$name"; then
  echo "$name is already registered"
else
  cf hosts add "$name" --ssh "$user@$addr:$port" --identity "$key" --host-key "$fp" --remote-root "$remote_root" \
    --ingress-address "$ingress_addr"
fi
cf hosts list

step "Provisioning customer demo on the pro plan, served at https://demo.clawfleet.test/"
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
    console.log(`public URL:         ${r.publicUrl}`);
    console.log(`login link:         ${r.loginUrl}   <- shown once`);
    console.log(`URL (on the host):  ${r.url}`);
    console.log(`reach it:           ${r.sshTunnel}`);
    console.log(`gateway token:      ${r.gatewayToken}   <- shown once, not stored`);
    console.log(`took ${r.durationMs} ms`);
    // The login link is used once below, then forgotten with the token.
    fs.writeFileSync(process.argv[2], r.loginUrl, { mode: 0o600 });
    delete r.gatewayToken;
    delete r.loginUrl;
    fs.writeFileSync(process.argv[1], JSON.stringify(r));
  ' "$result.tmp" "$result.login"
  mv "$result.tmp" "$result"
fi
rm -f "$result.tmp"

url=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).url)' "$result")
step "Proving it healthy: GET ${url}healthz (the sandbox shares this machine's loopback)"
curl -fsS "${url}healthz"; echo

# On a real host, DNS sends *.clawfleet.test to the host and Let's Encrypt signs the certificate.
# Here curl pins the name to the host's ingress address and trusts the sandbox proxy's local CA.
site=demo.clawfleet.test
ca="$sandbox_dir/demo-ca.crt"
proxy=$(docker ps -q --filter label=io.clawfleet.proxy=true --filter "label=io.clawfleet.root=$remote_root" | head -n 1)
docker cp "$proxy:/data/caddy/pki/authorities/local/root.crt" "$ca" >/dev/null
https() { curl -sS --cacert "$ca" --resolve "$site:443:$ingress_addr" "$@"; }
step "Through the proxy: GET https://$site/healthz (public), verified against the sandbox CA"
https -fsS "https://$site/healthz"
step "Without a session the proxy answers 401, and nothing reaches the gateway"
https -o /dev/null -w 'GET %{url_effective} -> %{http_code}\n' "https://$site/whoami"
if [ -s "$result.login" ]; then
  login=$(cat "$result.login")
  rm -f "$result.login"
  step "The login exchange: the one-time link becomes a session cookie and a clean URL"
  headers=$(https -D - -o /dev/null "$login")
  cookie=$(printf '%s' "$headers" | sed -n 's/^set-cookie: \([^;]*\).*/\1/ip' | tr -d '\r')
  # The cookie's value is a secret too: shown here with its value cut.
  printf '%s\n' "$headers" | grep -iE '^(HTTP|location|set-cookie)' | sed -E 's/cf_session=([0-9a-f]{8})[0-9a-f]+/cf_session=\1…/'
  printf 'GET https://%s/whoami with the cookie -> ' "$site"
  https -H "Cookie: $cookie" "https://$site/whoami"
else
  echo "(the login link was shown on the first run only; \`clawfleet rotate-token demo\` issues a new one)"
fi

step "Backing up demo's data volume (a consistent copy, checked by SHA-256) and restoring it"
docker exec cf-demo sh -c 'echo "notes from $(date -u +%FT%TZ)" >/home/node/.openclaw/notes.txt'
backup_id=$(cf backup demo --json | node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8").trim().split("\n").pop()).id)')
cf backups list demo
docker exec cf-demo sh -c 'echo "written after the backup" >/home/node/.openclaw/later.txt'
cf restore demo --backup "$backup_id"
printf 'after the restore, the volume holds: '; docker exec cf-demo ls /home/node/.openclaw | tr '\n' ' '; echo
cf backups prune
echo
echo "Done. Try: export CLAWFLEET_DATABASE_URL=$CLAWFLEET_DATABASE_URL CLAWFLEET_PLANS=$CLAWFLEET_PLANS"
echo "     then: node bin/clawfleet.js hosts list; node bin/clawfleet.js config show demo"
