#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the sandbox's ingress proxy image from Debian's caddy with `docker import`, because there is
# no registry to pull caddy:2 from. It keeps only the official image's layout, which is all clawfleet
# relies on: /usr/bin/caddy, /etc/caddy, /data and /config (XDG_DATA_HOME=/data,
# XDG_CONFIG_HOME=/config). Prints the image reference on stdout. Usage: build.sh [--if-missing]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/apt.sh
source "$here/../lib/apt.sh"
if_missing=false
[ "${1:-}" = --if-missing ] && if_missing=true

ensure_packages caddy ca-certificates
version=$(caddy version | awk '{ print $1 }' | sed 's/^v//')
ref="clawfleet-sandbox-caddy:$version"
hash=$(cat "$here/build.sh" /usr/bin/caddy /etc/ssl/certs/ca-certificates.crt | sha256sum | cut -c1-16)

if $if_missing && [ "$(docker image inspect -f '{{index .Config.Labels "io.clawfleet.test-image-hash"}}' "$ref" 2>/dev/null)" = "$hash" ]; then
  echo "$ref"
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{usr/bin,etc/caddy,etc/ssl/certs,data,config,tmp,run,srv}
cp /usr/bin/caddy "$root/usr/bin/caddy"
# The binary is dynamically linked: copy each library ldd lists, at the same path.
for lib in $(ldd /usr/bin/caddy | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"

tar --numeric-owner -C "$root" -cf - . |
  docker import \
    --change 'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]' \
    --change 'ENV PATH=/usr/bin XDG_DATA_HOME=/data XDG_CONFIG_HOME=/config' \
    --change 'WORKDIR /srv' \
    --change 'EXPOSE 80 443' \
    --change "LABEL io.clawfleet.test-image-hash=$hash org.opencontainers.image.title=clawfleet-sandbox-caddy org.opencontainers.image.version=$version" \
    -m "clawfleet sandbox caddy $version (Debian's binary)" - "$ref" >/dev/null
echo "built $ref" >&2
echo "$ref"
