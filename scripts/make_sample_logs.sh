#!/usr/bin/env bash
# Regenerate sample_logs/auditd/ from real auditd runs on this machine. Usage (root):
#   bash scripts/make_sample_logs.sh
#
# Needs: root, a kernel with audit enabled (no audit daemon running, no rules loaded), and the
# Debian packages auditd openssh-server openssh-client sudo nftables iptables passwd login
# (apt-get install -y --no-install-recommends auditd openssh-server sudo nftables iptables).
# Takes about a minute. Leaves the machine as it found it: the private auditd and sshd are
# stopped, rules deleted, the audit enabled/backlog/failure settings restored, and the test
# users (alice, bob, carol), groups (ops, auditors), the sudoers drop-in, the nft table and the
# iptables chain removed, even when a step fails (see scripts/sample_logs/auditlab.py).
# Then it recomputes the reference counts with ausearch/aureport into sample_logs/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "make_sample_logs: needs root (it runs auditd, sshd, useradd)" >&2
  exit 1
fi
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
for tool in auditd auditctl ausearch aureport sshd ssh ssh-keygen sudo visudo nft iptables useradd chpasswd; do
  command -v "$tool" >/dev/null || { echo "make_sample_logs: $tool not found" >&2; exit 1; }
done

# Belt and braces: the Python lab restores everything itself (also on SIGINT/SIGTERM); if it is
# killed hard, stop the daemons it started, by the pids it recorded, and drop the rules.
restore() {
  local found=0 f
  for f in /tmp/auditlens-sample/*/auditd.pid /tmp/auditlens-sample/sshd/sshd.pid; do
    [ -f "$f" ] || continue
    found=1
    kill "$(cat "$f")" 2>/dev/null || true
  done
  if [ "$found" = 1 ]; then auditctl -D >/dev/null 2>&1 || true; fi
}
trap restore EXIT

python3 scripts/sample_logs/generate.py sample_logs/auditd
python3 scripts/sample_logs/counts.py sample_logs >/dev/null
echo "sample_logs/auditd regenerated; reference counts in sample_logs/README.md"
