"""Cross-language checks of ndnet's safetensors and ONNX files against NumPy, the reference
safetensors library and ONNX Runtime.

    python tests/python/interop.py --ndnet target/debug/examples/interop --dir target/interop

(tests/python/interop.sh makes the virtual environment and builds the example first.)

(a) the weights ndnet saved (Keras and PyTorch layouts), read with safetensors.numpy, give in a
    NumPy forward pass the outputs ndnet's predict gave on the same inputs;
(b) weights written here with safetensors.numpy (Keras layout in float64, NumPy's default;
    PyTorch layout in float32), loaded by ndnet's load_weights, give ndnet predictions equal to
    the NumPy forward pass;
(c) ONNX Runtime runs ndnet's exported ONNX models to ndnet's predictions;
(d) the whole models ndnet saved (Sequential::save) open with safetensors.numpy, their
    metadata's model description parses as JSON and names the same architecture, and the NumPy
    forward pass from the file's own description and weights gives ndnet's predictions; the
    optimizer's buffers are shaped as their weights.

The NumPy forward pass and the PyTorch names are written here from the semantics (Keras's
formulas, torch.nn.Sequential's module numbering), not from ndnet's code.
"""

import argparse
import json
import pathlib
import subprocess
import sys

import numpy as np
import onnxruntime as ort
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

# Tolerances: |a - b| <= TOL * max(1, |b|).
TOL_SAFETENSORS = 1e-6
TOL_ONNX = 1e-5

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def activation(spec, z):
    """The activation named by ndnet's JSON (a string, or {"leaky_relu": {"alpha": a}})."""
    if isinstance(spec, dict):
        (name, params), = spec.items()
    else:
        name, params = spec, {}
    if name == "linear":
        return z
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, params["alpha"] * z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if name == "selu":
        return SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(z))
    raise ValueError(f"unknown activation {spec!r}")


def dense_names(layers, layout):
    """For each Dense layer (in order): the names of its kernel and bias in `layout`.

    Keras: Dense layers are dense, dense_1, ... Torch: each layer is one module of the equivalent
    torch.nn.Sequential, a Dense layer with a non-linear activation two (Linear, activation).
    """
    names, module, dense = [], 0, 0
    for layer in layers:
        kind, config = layer["class_name"], layer.get("config")
        if kind == "Dense":
            if layout == "keras":
                base = "dense" if dense == 0 else f"dense_{dense}"
                names.append((f"{base}/kernel", f"{base}/bias"))
            else:
                names.append((f"{module}.weight", f"{module}.bias"))
            dense += 1
            module += 1 if config["activation"] == "linear" else 2
        else:
            module += 1
    return names


def forward(layers, weights, layout, x):
    """The model's inference pass in float64: dropout and noise layers are the identity."""
    h = x.astype(np.float64)
    names = iter(dense_names(layers, layout))
    for layer in layers:
        kind, config = layer["class_name"], layer.get("config")
        if kind == "Dense":
            k, b = next(names)
            kernel = weights[k].astype(np.float64)
            if layout == "pt":
                kernel = kernel.T  # nn.Linear stores (out, in)
            h = h @ kernel
            if config["use_bias"]:
                h = h + weights[b].astype(np.float64)
            h = activation(config["activation"], h)
        elif kind == "Activation":
            h = activation(config, h)
        elif kind in ("Dropout", "GaussianDropout", "GaussianNoise", "AlphaDropout"):
            pass
        else:
            raise ValueError(f"unknown layer {kind}")
    return h


def check(what, got, want, tol, failures):
    err = np.abs(got.astype(np.float64) - want) / np.maximum(1.0, np.abs(want))
    worst = float(err.max())
    ok = got.shape == want.shape and worst <= tol
    print(f"{'ok  ' if ok else 'FAIL'} {what}: shape {got.shape}, max scaled error {worst:.2e}")
    if not ok:
        failures.append(what)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ndnet", required=True, help="the interop example's binary")
    parser.add_argument("--dir", required=True, help="scratch directory")
    args = parser.parse_args()
    out = pathlib.Path(args.dir)
    subprocess.run([args.ndnet, "export", str(out)], check=True)

    failures = []
    rng = np.random.default_rng(5)
    from_numpy = out / "from_numpy"
    from_numpy.mkdir(exist_ok=True)
    expected = {}
    models = sorted(p.name[: -len(".io.safetensors")] for p in out.glob("*.io.safetensors"))
    if len(models) < 11:
        failures.append(f"only {len(models)} models exported")
    for name in models:
        with safe_open(out / f"{name}.io.safetensors", framework="numpy") as f:
            meta = f.metadata()
            x, y = f.get_tensor("x"), f.get_tensor("y")
        layers = json.loads(meta["layers"])
        assert x.shape[1] == int(meta["input_dim"])

        # (a) ndnet's files, read by the reference library, through NumPy.
        for layout in ("keras", "pt"):
            path = out / f"{name}.{layout}.safetensors"
            weights = load_file(path)
            with safe_open(path, framework="numpy") as f:
                fmt = f.metadata().get("format")
            if fmt != ("pt" if layout == "pt" else "keras"):
                failures.append(f"{path.name}: metadata format {fmt!r}")
            wanted = {n for pair in dense_names(layers, layout) for n in pair}
            extra = set(weights) - wanted
            if extra:
                failures.append(f"{path.name}: unexpected tensors {sorted(extra)}")
            check(f"{name} ndnet -> numpy ({layout})", y, forward(layers, weights, layout, x),
                  TOL_SAFETENSORS, failures)

        # (d) ndnet's whole-model files: tensors, the JSON description, and the forward pass
        # from the file alone.
        path = out / f"{name}.model.safetensors"
        tensors = load_file(path)
        with safe_open(path, framework="numpy") as f:
            saved = f.metadata()
        desc = json.loads(saved["model"])
        if saved.get("format") != "ndnet" or desc.get("format") != "ndnet.sequential":
            failures.append(f"{path.name}: format {saved.get('format')!r} / {desc.get('format')!r}")
        if desc.get("version") != 2 or desc["input_dim"] != x.shape[1] or desc["layers"] != layers:
            failures.append(f"{path.name}: the description differs from the model")
        weights = {k: v for k, v in tensors.items() if not k.startswith("optimizer/")}
        wanted = {n for pair in dense_names(desc["layers"], "keras") for n in pair}
        if set(weights) - wanted:
            failures.append(f"{path.name}: unexpected tensors {sorted(set(weights) - wanted)}")
        state = {k: v for k, v in tensors.items() if k.startswith("optimizer/")}
        groups = desc.get("training", {}).get("state", [])
        for g in groups:
            for w in sorted(weights) if g["slots"] else []:
                buf = state.pop(f"optimizer/{g['name']}/{w}", None)
                if buf is None or buf.shape != weights[w].shape:
                    failures.append(f"{path.name}: optimizer/{g['name']}/{w} missing or misshapen")
        if state:
            failures.append(f"{path.name}: unexpected state tensors {sorted(state)}")
        n_state = sum(g["slots"] for g in groups)
        check(f"{name} save -> numpy ({len(weights)} weights, {n_state} state)", y,
              forward(desc["layers"], weights, "keras", x), TOL_SAFETENSORS, failures)

        # (c) ONNX Runtime on ndnet's export.
        session = ort.InferenceSession(str(out / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        (y_onnx,) = session.run(None, {"input": x})
        check(f"{name} onnxruntime", y_onnx, y.astype(np.float64), TOL_ONNX, failures)

        # (b) weights from NumPy for ndnet to load.
        keras = load_file(out / f"{name}.keras.safetensors")
        fresh_keras, fresh_pt = {}, {}
        for (k, b), (tk, tb) in zip(dense_names(layers, "keras"), dense_names(layers, "pt")):
            n_in, units = keras[k].shape
            kernel = rng.uniform(-1.0, 1.0, (n_in, units)) * (2.0 / np.sqrt(n_in))
            fresh_keras[k] = kernel  # float64
            fresh_pt[tk] = np.ascontiguousarray(kernel.T, dtype=np.float32)
            if b in keras:
                bias = rng.uniform(-1.0, 1.0, units)
                fresh_keras[b] = bias
                fresh_pt[tb] = bias.astype(np.float32)
        save_file(fresh_keras, from_numpy / f"{name}.keras.safetensors")
        save_file(fresh_pt, from_numpy / f"{name}.pt.safetensors", metadata={"format": "pt"})
        expected[(name, "keras")] = forward(layers, fresh_keras, "keras", x)
        expected[(name, "pt")] = forward(layers, fresh_pt, "pt", x)

    subprocess.run([args.ndnet, "predict", str(out)], check=True)
    for (name, layout), want in sorted(expected.items()):
        got = load_file(from_numpy / f"{name}.{layout}.pred.safetensors")["y"]
        check(f"{name} numpy -> ndnet ({layout})", got, want, TOL_SAFETENSORS, failures)

    if failures:
        print(f"{len(failures)} failures:", *failures, sep="\n  ")
        sys.exit(1)
    print(f"all {len(models)} models agree")


if __name__ == "__main__":
    main()
