#!/usr/bin/env bash
# Runs every benchmark and writes BENCHMARKS.md: the criterion benches, the three sonar
# experiments timed end to end, and (when a Python with torch is available) the PyTorch peer
# scripts measured in the same sitting.
#
#   scripts/bench.sh                 # all of it
#   TORCH_PYTHON=/path/to/python scripts/bench.sh
#   SKIP_TORCH_SONAR=1 scripts/bench.sh   # skip PyTorch's sonar run (about 45 CPU-seconds)
#
# Environment: SONAR_CSV (or any other way the sonar loader finds the data), TORCH_PYTHON
# (default /tmp/venv-torch/bin/python), PEER_BENCH_DIR (default ../shared/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench-report
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.txt
py=${TORCH_PYTHON:-/tmp/venv-torch/bin/python}
peers=${PEER_BENCH_DIR:-../shared/bench}

{
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) ($(nproc) cores)"
  echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f)$' | xargs)"
  echo "rustc: $(rustc --version)"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"

cargo bench --bench forward_backward 2>&1 | tee "$out/criterion.txt"

cargo build --release --example sonar_dropout
for i in 1 2 3; do
  /usr/bin/time -f "%e %U %S" -o "$out/sonar_time_$i.txt" \
    ./target/release/examples/sonar_dropout --threads 1 > "$out/sonar_output_$i.txt"
done

if [ -x "$py" ] && "$py" -c "import torch" 2>/dev/null && [ -d "$peers" ]; then
  "$py" "$peers/micro_torch.py" --threads 1 --json "$out/torch_micro.json" | tee "$out/torch_micro.txt"
  if [ -z "${SKIP_TORCH_SONAR:-}" ]; then
    (cd "$peers" && "$py" sonar_torch.py --threads 1) | tee "$out/torch_sonar.txt"
  fi
else
  echo "PyTorch not available ($py): the report leaves its columns empty" >&2
fi

python3 scripts/bench_report.py "$out" > BENCHMARKS.md
echo "wrote BENCHMARKS.md" >&2
