#!/usr/bin/env bash
# Cross-language tests: ndnet's safetensors and ONNX files against NumPy, the reference
# safetensors library and ONNX Runtime (tests/python/interop.py says what is checked).
# Makes the virtual environment target/py-venv (reused if present) from PyPI, builds the
# `interop` example and runs the checks in target/interop.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
  if ! python3 -m venv "$venv"; then
    # Debian and Ubuntu ship venv separately.
    rm -rf "$venv"
    apt-get update -qq && apt-get install -y -qq python3-venv
    python3 -m venv "$venv"
  fi
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r tests/python/requirements.txt

cargo build --all-features --example interop
rm -rf target/interop
"$venv/bin/python" tests/python/interop.py --ndnet target/debug/examples/interop --dir target/interop
