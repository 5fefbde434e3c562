#!/usr/bin/env bash
# Reproduce docs/benchmarks.md in one command (from the repository root, as root):
#   bash benchmarks/run.sh K8S_CORPUS_DIR [DATA_DIR]
# Makes the volume inputs once (real auditd on this machine + replayed k8s Events; see
# make_inputs.py), then runs every tool on them, interleaved, ROUNDS times (default 3), and
# rewrites the results block of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:?usage: bash benchmarks/run.sh K8S_CORPUS_DIR [DATA_DIR]}"
data="${2:-benchmarks/.data}"
py="${PYTHON:-.venv/bin/python}"
command -v jq > /dev/null || apt-get install -y jq
if [ ! -s "$data/auditd.log" ] || [ ! -s "$data/k8s.jsonl" ]; then
    python3 benchmarks/make_inputs.py "$corpus" "$data"
fi
"$py" benchmarks/run.py "$data" --rounds "${ROUNDS:-3}"
