#!/usr/bin/env bash
# install-deps.sh — install the Debian 12 packages callscope needs (deploy/packages.txt).
#
# Idempotent: asks dpkg which packages are missing and installs only those, so a
# second run does nothing and needs no network. Needs root (or sudo) only when
# something is missing. Exit codes: 0 all present, 4 cannot install (not root,
# apt failed).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/packages.txt" | grep -v '^$')
missing=()
for p in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#wanted[@]} packages present" >&2
    exit 0
fi

echo "install-deps: installing ${#missing[@]} missing packages: ${missing[*]}" >&2
sudo=()
if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "install-deps: missing packages and not root; run as root or install: ${missing[*]}" >&2
        exit 4
    fi
fi
export DEBIAN_FRONTEND=noninteractive
# Keep Debian's postgresql package from creating and starting its own cluster:
# callscope runs its own server under the project's folder.
if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
    "${sudo[@]}" mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | "${sudo[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
"${sudo[@]}" apt-get update -q || { echo "install-deps: apt-get update failed" >&2; exit 4; }
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { echo "install-deps: apt-get install failed" >&2; exit 4; }
echo "install-deps: done" >&2
