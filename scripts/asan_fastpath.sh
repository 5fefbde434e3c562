#!/usr/bin/env bash
# The C fast paths (auditlens/k8s/_fastrow.c, auditlens/auditd/_fastaudit.c,
# auditlens/cloud/_fastcloud.c) parse attacker-controlled log lines: check them under
# AddressSanitizer. Builds a copy of the three extensions with -fsanitize=address in a temporary
# directory, then runs their tests (and the
# readers') and the mutation fuzzers over real lines against that build: k8s Event lines
# (scripts/fuzz_fastpath.py), IBM Cloud event lines (scripts/fuzz_cloud_fastpath.py) and auditd
# logs read on both paths (scripts/fuzz_auditd_fastpath.py).
# Usage (from the repository root, after bash scripts/test.sh; PYTHON=… names another
# interpreter than .venv's): bash scripts/asan_fastpath.sh
#   [CORPORA_DIR] [FUZZ_ITERATIONS] [AUDITD_FUZZ_ITERATIONS]   (needs gcc; a sanitizer report
#   aborts with it on stderr, pytest runs with -s so that the report is not swallowed; any
#   failure exits non-zero. AUDITD_FUZZ_ITERATIONS are whole logs read twice: default
#   FUZZ_ITERATIONS / 25. The auditd fuzzer names at start the file that keeps the log it was
#   reading when it dies.)
set -euo pipefail
cd "$(dirname "$0")/.."
corpora="$(realpath "${1:-../shared/corpora}")"
iterations="${2:-50000}"
auditd_iterations="${3:-$(( iterations / 25 > 0 ? iterations / 25 : 1 ))}"
py="${PYTHON:-$PWD/.venv/bin/python}"  # the venv itself (realpath would leave it)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r auditlens tests setup.py pyproject.toml README.md sample_logs scripts "$tmp"/
mkdir "$tmp"/benchmarks && cp benchmarks/*.py "$tmp"/benchmarks/  # the event makers, not .data
find "$tmp"/auditlens -name '*.so' -delete
(cd "$tmp" && CFLAGS="-fsanitize=address -fno-omit-frame-pointer -O1 -g" \
    "$py" setup.py -q build_ext --inplace -j 2 > /dev/null)
for ext in auditlens/k8s/_fastrow auditlens/auditd/_fastaudit auditlens/cloud/_fastcloud; do  # optional=True: check
    compgen -G "$tmp/$ext.*.so" > /dev/null || { echo "ASan build of $ext failed" >&2; exit 1; }
done
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
export PYTHONPATH="$tmp" AUDITLENS_CORPORA="$corpora" AUDITLENS_UNDER_ASAN=1
unset AUDITLENS_PURE_PYTHON
cd "$tmp"
"$py" -c 'import sys; from auditlens.k8s import _fastrow; from auditlens.auditd import _fastaudit
from auditlens.cloud import _fastcloud
for m in (_fastrow, _fastaudit, _fastcloud):
    assert m.__file__.startswith(sys.argv[1]), f"{m.__file__} is not the ASan build"' "$tmp"
# the k8s tests; for auditd the native tests (minus the slowest hypothesis run, which the fuzzer
# below stands in for, the worker-process ones, the generator's self-check, which runs no C, and
# a memory-bound test on a large stream) and the reader's; the corpus test when there are no
# native tests (these read every corpus file on both paths). About 60 s in all, idle machine.
auditd_tests=(tests/test_auditd_reader.py tests/test_auditd_native.py
              tests/test_auditd_native_records.py)
[[ -f tests/test_auditd_native.py ]] || auditd_tests=(tests/test_auditd_reader.py
                                                       tests/test_auditd_corpora.py)
"$py" -m pytest -q -s -p no:cacheprovider tests/test_k8s_native.py tests/test_k8s_corpora.py \
    tests/test_k8s_reader.py tests/test_k8s_units.py tests/test_cloud_native.py "${auditd_tests[@]}" \
    tests/test_arena_handover.py \
    -k "not generated_logs_read_the_same and not jobs_2 and not pieces_cut and not ausearch and not cover_what \
        and not does_not_hold_the_whole"
"$py" scripts/fuzz_fastpath.py "$corpora/k8s" "$iterations"
"$py" scripts/fuzz_cloud_fastpath.py "$iterations"
"$py" scripts/fuzz_auditd_fastpath.py "$corpora" "$auditd_iterations"
