# shellcheck shell=bash
# Sourced helper: install Debian packages only when missing, so a warm machine never touches apt.

# Prints the packages among "$@" that dpkg does not report as installed.
missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -qx 'install ok installed' || echo "$pkg"
  done
}

# Installs the missing ones, running `apt-get update` at most once per process.
ensure_packages() {
  local -a missing
  mapfile -t missing < <(missing_packages "$@")
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "apt: installing ${missing[*]}" >&2
  if [ -z "${CF_APT_UPDATED:-}" ]; then
    apt-get -o DPkg::Lock::Timeout=120 update -qq
    export CF_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq "${missing[@]}" >&2
}
