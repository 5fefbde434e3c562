#!/usr/bin/env bash
# Install everything the tests need into ./.venv and run them. Usage: bash scripts/test.sh [pytest args]
#
# - Python side: a fresh virtualenv with auditlens and its test extras.
# - Reference tools: when run as root on a Debian/Ubuntu machine and they are missing, installs
#   Debian's auditd (ausearch/aureport, the reference implementation) and what the end-to-end
#   tests drive (openssh-server, sudo, nftables, iptables), and chromium for the HTML report's
#   browser test. Without them those tests skip.
# - A C compiler and the Python headers, so that the k8s reader's C fast path is built and its
#   tests (which hold it equal to the Python path) run; without them auditlens installs and runs
#   in pure Python and those tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v ausearch >/dev/null 2>&1 || need_pkgs+=(auditd)
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need_pkgs+=(openssh-server)
command -v sudo >/dev/null 2>&1 || need_pkgs+=(sudo)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || need_pkgs+=(nftables)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || need_pkgs+=(iptables)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v cc >/dev/null 2>&1 || need_pkgs+=(gcc libc6-dev)
python3 -c 'import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(
    sysconfig.get_paths()["include"], "Python.h")))' || need_pkgs+=(python3-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing reference tools: ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "note: ${need_pkgs[*]} missing and not installable here; the tests that need them will skip"
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
exec .venv/bin/python -m pytest "$@"
