#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the clawfleet-test-gateway images from Debian's busybox-static with `docker import`,
# because there is no registry to pull from. Usage: build.sh [--if-missing]
#   :1.0 and :1.1  healthy gateways (they differ only in CF_TEST_VERSION, for upgrade tests)
#   :never-healthy /healthz always answers 500 (for provision-failure tests)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/apt.sh
source "$here/../lib/apt.sh"
repo_name=clawfleet-test-gateway
if_missing=false
[ "${1:-}" = --if-missing ] && if_missing=true

ensure_packages busybox-static
# A content hash label lets --if-missing rebuild when these files or busybox change.
hash=$(cat "$here/build.sh" "$here/cf-gateway" "$here/cf-gateway-handler" /usr/bin/busybox |
  sha256sum | cut -c1-16)

image_current() { # tag
  [ "$(docker image inspect -f '{{index .Config.Labels "io.clawfleet.test-image-hash"}}' \
    "$repo_name:$1" 2>/dev/null)" = "$hash" ]
}

# Only stale tags are rebuilt: a new image id would make compose recreate running containers.
declare -A envs=(
  [1.0]="CF_TEST_VERSION=1.0"
  [1.1]="CF_TEST_VERSION=1.1"
  [never-healthy]="CF_TEST_VERSION=never-healthy CF_TEST_UNHEALTHY=1"
)
tags=()
for tag in 1.0 1.1 never-healthy; do
  $if_missing && image_current "$tag" || tags+=("$tag")
done
[ "${#tags[@]}" -gt 0 ] || exit 0

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,dev,proc,sys,root,tmp,usr/local/bin,home/node/.openclaw}
cp /usr/bin/busybox "$root/bin/busybox"
for applet in $(/usr/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
ln -s ../bin "$root/usr/bin"
ln -s bin "$root/sbin"
install -m 0755 "$here/cf-gateway" "$here/cf-gateway-handler" "$root/usr/local/bin/"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
chmod 1777 "$root/tmp"
# Like the real image: uid 1000 owns the data dir, and Docker copies that onto a fresh volume.
chown -R 1000:1000 "$root/home/node"
chmod 0750 "$root/home/node/.openclaw"

import() { # tag, extra ENV lines...
  local tag=$1 env
  shift
  local -a changes=(
    --change 'CMD ["/usr/local/bin/cf-gateway"]'
    --change 'USER node'
    --change 'WORKDIR /home/node'
    --change 'EXPOSE 18789'
    --change 'ENV PATH=/usr/local/bin:/bin HOME=/home/node'
    --change "LABEL io.clawfleet.test-image-hash=$hash org.opencontainers.image.title=$repo_name"
  )
  for env in "$@"; do changes+=(--change "ENV $env"); done
  tar --numeric-owner -C "$root" -cf - . |
    docker import "${changes[@]}" -m "clawfleet test gateway ($tag)" - "$repo_name:$tag" >/dev/null
  echo "built $repo_name:$tag" >&2
}

for tag in "${tags[@]}"; do
  # shellcheck disable=SC2086 # envs holds space-separated NAME=value words
  import "$tag" ${envs[$tag]}
done
