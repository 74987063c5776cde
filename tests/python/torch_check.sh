#!/usr/bin/env bash
# Optional, not run by CI (PyTorch from PyPI is about 5 GB with its CUDA libraries): ndnet's
# PyTorch-layout weights in real torch.nn.Sequential models, both ways (tests/python/torch_check.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/py-torch
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check torch numpy safetensors==0.8.0
cargo build --all-features --example interop
rm -rf target/interop-torch
"$venv/bin/python" tests/python/torch_check.py --ndnet target/debug/examples/interop --dir target/interop-torch
