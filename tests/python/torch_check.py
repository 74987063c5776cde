"""Optional (not in CI): ndnet's PyTorch-layout weights in real torch.nn.Sequential models.

    tests/python/torch_check.sh

For each model the `interop` example exports, builds the equivalent torch.nn.Sequential (one
module per ndnet layer; nn.Linear then the activation for a Dense layer with one), then
(1) load_state_dict(strict=True) of ndnet's NAME.pt.safetensors and the torch model's output in
    eval mode equals ndnet's predict (scaled error <= 1e-5);
(2) a freshly initialized torch model's state_dict, saved with safetensors.torch.save_file, loads
    into ndnet (load_weights, PyTorch layout), whose predictions equal torch's (<= 1e-5).
"""

import argparse
import json
import pathlib
import subprocess
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

TOL = 1e-5


def act_module(spec):
    if isinstance(spec, dict):
        (name, params), = spec.items()
    else:
        name, params = spec, {}
    return {
        "relu": lambda: torch.nn.ReLU(),
        "sigmoid": lambda: torch.nn.Sigmoid(),
        "tanh": lambda: torch.nn.Tanh(),
        "softmax": lambda: torch.nn.Softmax(dim=1),
        "selu": lambda: torch.nn.SELU(),
        "leaky_relu": lambda: torch.nn.LeakyReLU(params.get("alpha", 0.3)),
        "linear": lambda: torch.nn.Identity(),
    }[name]()


def torch_model(layers, input_dim):
    modules, width = [], input_dim
    for layer in layers:
        kind, config = layer["class_name"], layer.get("config")
        if kind == "Dense":
            modules.append(torch.nn.Linear(width, config["units"], bias=config["use_bias"]))
            width = config["units"]
            if config["activation"] != "linear":
                modules.append(act_module(config["activation"]))
        elif kind == "Activation":
            modules.append(act_module(config))
        elif kind == "Dropout":
            modules.append(torch.nn.Dropout(config["rate"]))
        elif kind == "AlphaDropout":
            modules.append(torch.nn.AlphaDropout(config["rate"]))
        else:  # GaussianNoise, GaussianDropout: no torch module; the identity at inference
            modules.append(torch.nn.Identity())
    return torch.nn.Sequential(*modules).eval()


def check(what, got, want, failures):
    err = ((got.double() - want.double()).abs() / want.double().abs().clamp(min=1.0)).max().item()
    ok = got.shape == want.shape and err <= TOL
    print(f"{'ok  ' if ok else 'FAIL'} {what}: max scaled error {err:.2e}")
    if not ok:
        failures.append(what)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ndnet", required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    out = pathlib.Path(args.dir)
    subprocess.run([args.ndnet, "export", str(out)], check=True)
    (out / "from_numpy").mkdir(exist_ok=True)
    torch.manual_seed(0)
    failures, expected = [], {}
    names = sorted(p.name[: -len(".io.safetensors")] for p in out.glob("*.io.safetensors"))
    for name in names:
        with safe_open(out / f"{name}.io.safetensors", framework="pt") as f:
            meta, x, y = f.metadata(), f.get_tensor("x"), f.get_tensor("y")
        layers = json.loads(meta["layers"])
        net = torch_model(layers, int(meta["input_dim"]))
        net.load_state_dict(load_file(out / f"{name}.pt.safetensors"), strict=True)
        with torch.no_grad():
            check(f"{name} ndnet -> torch", net(x), y, failures)
        fresh = torch_model(layers, int(meta["input_dim"]))
        save_file(fresh.state_dict(), out / "from_numpy" / f"{name}.pt.safetensors")
        with torch.no_grad():
            expected[name] = fresh(x)
    subprocess.run([args.ndnet, "predict", str(out)], check=True)
    for name, want in expected.items():
        got = load_file(out / "from_numpy" / f"{name}.pt.pred.safetensors")["y"]
        check(f"{name} torch -> ndnet", got, want, failures)
    if failures:
        print(f"{len(failures)} failures:", *failures, sep="\n  ")
        sys.exit(1)
    print(f"all {len(names)} models agree with torch {torch.__version__}")


if __name__ == "__main__":
    main()
