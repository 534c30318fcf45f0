#!/usr/bin/env bash
# Install what jailgen needs on a Debian 12 machine, idempotently:
# Debian packages (only those missing) and a virtual environment with
# jailgen installed editable.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(git puppet-agent nginx bubblewrap puppet-lint ruby-rspec-puppet wrk nftables)
# Agent mode's development stack (`jailgen stack up`): Puppet Server with the
# PuppetDB terminus, PuppetDB on PostgreSQL, r10k, and sshd for the SSH transport.
# The module's Forge-style checks: REFERENCE.md, metadata.json lint, rspec-puppet
# driven by facterdb's facts for each supported operating system.
DEB_PACKAGES+=(puppet-strings metadata-json-lint ruby-rspec-puppet-facts)
# HTTPS: certbot is the ACME client the module runs on Debian hosts; pebble
# (RFC 8555 test server) is the ACME server the tests start on loopback.
DEB_PACKAGES+=(certbot pebble)
DEB_PACKAGES+=(puppetserver puppetdb puppet-terminus-puppetdb postgresql r10k openssh-server openssh-client)

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  # No init system here: keep package scripts from starting the system nginx.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
    "${sudo_cmd[@]}" chmod +x "$policy"
    created_policy=1
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  [ "$created_policy" -eq 0 ] || "${sudo_cmd[@]}" rm -f "$policy"
fi

if [ ! -x .venv/bin/python ]; then
  python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
stamp=.venv/.jailgen-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
