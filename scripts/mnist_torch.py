#!/usr/bin/env python3
"""One epoch of the MNIST dropout + max-norm network in PyTorch, the recipe of
`cargo run --release --example mnist_dropout -- --models dropout-maxnorm --epochs 1`, to time
against it in the same sitting.

  python3 scripts/mnist_torch.py --data ~/.cache/ndnet/mnist --threads 1 --json out.json

The network: Dropout(0.2) -> 3 x (Linear(1024), ReLU, Dropout(0.5)) -> Linear(10), softmax and
cross-entropy (log-softmax + NLL, as `nn.CrossEntropyLoss`); weights N(0, 1/fan_in), zero
biases; SGD with PyTorch's momentum (v = mu v + g; w -= lr v), lr 0.1 / (1 + t / 10000),
momentum rising linearly from 0.5 by (0.99 - 0.5) / 100000 per update; after every update each
layer's incoming weight vector of every unit is scaled to a norm of at most 3 (Keras's MaxNorm:
w * min(norm, 3) / (1e-7 + norm)). Pixels / 255, batch 100, shuffled, 600 updates; then the loss
and error on the 10,000 test images in eval mode. Prints and writes (with --json) the epoch's
wall and process CPU time, the test pass's, and the test error.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(folder, prefix):
    x = idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"))
    y = idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0)
    return x, torch.from_numpy(y.astype(np.int64))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.expanduser("~/.cache/ndnet/mnist"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "t10k")

    layers, fan_in = [torch.nn.Dropout(0.2)], 784
    for _ in range(3):
        layers += [torch.nn.Linear(fan_in, 1024), torch.nn.ReLU(), torch.nn.Dropout(0.5)]
        fan_in = 1024
    layers.append(torch.nn.Linear(fan_in, 10))
    net = torch.nn.Sequential(*layers)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for m in linears:
            m.weight.normal_(0.0, 1.0 / m.in_features ** 0.5)
            m.bias.zero_()
    lr0 = 0.1
    opt = torch.optim.SGD(net.parameters(), lr=lr0, momentum=0.5)
    loss_fn = torch.nn.CrossEntropyLoss()
    t = 0
    results = []
    for epoch in range(args.epochs):
        w0, c0 = time.perf_counter(), time.process_time()
        net.train()
        perm = torch.randperm(len(xtr))
        for b in range(0, len(xtr), 100):
            i = perm[b:b + 100]
            for g in opt.param_groups:
                g["lr"] = lr0 / (1.0 + t / 10000.0)
                g["momentum"] = min(0.99, 0.5 + (0.99 - 0.5) * t / 100000.0)
            opt.zero_grad(set_to_none=False)
            loss = loss_fn(net(xtr[i]), ytr[i])
            loss.backward()
            opt.step()
            with torch.no_grad():
                for m in linears:
                    norms = m.weight.norm(dim=1, keepdim=True)
                    m.weight.mul_(norms.clamp(max=3.0) / (1e-7 + norms))
            t += 1
        w1, c1 = time.perf_counter(), time.process_time()
        net.eval()
        with torch.no_grad():
            out = net(xte)
            test_loss = loss_fn(out, yte).item()
            error = (out.argmax(dim=1) != yte).float().mean().item() * 100.0
        w2, c2 = time.perf_counter(), time.process_time()
        r = {"epoch": epoch + 1, "train_wall_s": w1 - w0, "train_cpu_s": c1 - c0,
             "test_wall_s": w2 - w1, "test_cpu_s": c2 - c1, "test_loss": test_loss,
             "test_error_pct": error}
        results.append(r)
        print(f"epoch {epoch + 1}: train {w1 - w0:.2f} s wall ({c1 - c0:.2f} CPU-s), test pass "
              f"{w2 - w1:.2f} s, test error {error:.2f}%, test loss {test_loss:.4f}")
    info = {"torch": torch.__version__, "threads": args.threads, "epochs": results,
            "load": os.getloadavg()}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(info, f, indent=1)


if __name__ == "__main__":
    main()
