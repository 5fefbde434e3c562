#!/usr/bin/env bash
# The k8s C fast path parses attacker-controlled log lines: check it under AddressSanitizer.
# Builds a copy of the extension with -fsanitize=address in a temporary directory, then runs its
# tests (and the k8s reader's) and a mutation fuzzer over real Event lines against that build.
# Usage (from the repository root, after bash scripts/test.sh): bash scripts/asan_fastpath.sh
#   [CORPORA_DIR] [FUZZ_ITERATIONS]   (needs gcc; a sanitizer report aborts with it on stderr,
#   pytest runs with -s so that the report is not swallowed; any failure exits non-zero)
set -euo pipefail
cd "$(dirname "$0")/.."
corpora="$(realpath "${1:-../shared/corpora}")"
iterations="${2:-50000}"
py="$PWD/.venv/bin/python"  # the venv itself (realpath would leave it)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r auditlens tests setup.py pyproject.toml README.md sample_logs scripts "$tmp"/
rm -f "$tmp"/auditlens/k8s/*.so
(cd "$tmp" && CFLAGS="-fsanitize=address -fno-omit-frame-pointer -O1 -g" \
    "$py" setup.py -q build_ext --inplace > /dev/null)
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
export PYTHONPATH="$tmp" AUDITLENS_CORPORA="$corpora" AUDITLENS_UNDER_ASAN=1
cd "$tmp"
"$py" -m pytest -q -s -p no:cacheprovider tests/test_k8s_native.py tests/test_k8s_corpora.py \
    tests/test_k8s_reader.py tests/test_k8s_units.py
"$py" scripts/fuzz_fastpath.py "$corpora/k8s" "$iterations"
