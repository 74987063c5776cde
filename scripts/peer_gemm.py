#!/usr/bin/env python3
"""Single-precision matrix products in PyTorch (torch.mm, MKL on x86) or NumPy (np.matmul, its
bundled OpenBLAS) at the shapes of benches/kernels.rs, one thread, as GFLOP/s.

  python3 scripts/peer_gemm.py --lib torch --json out.json
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/peer_gemm.py --lib numpy

Shapes (m, k, n): C = A·B with A (m, k), B (k, n), 2·m·k·n FLOPs; "backward" is the two
products of a layer whose forward is that one, Aᵀ·G (k, m)·(m, n) and G·Bᵀ (m, n)·(n, k), on
transposed views (no copies), 4·m·k·n FLOPs. Each: warm-up, then 7 repeats of N calls
(N chosen so that a repeat lasts about 0.3 s); the median repeat and the best are reported, in
the calling thread's CPU time (time.thread_time, which the one BLAS thread is), as
benches/kernels.rs measures ndnet, and in wall time.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np

SHAPES = [(1024, 1024, 1024), (128, 784, 1024), (128, 1024, 1024), (16, 60, 60)]


def bench(fn, warmup_s=0.3, target_s=0.3, repeats=7):
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < warmup_s or n < 3:
        fn()
        n += 1
    iters = max(3, int(target_s / ((time.perf_counter() - t0) / n)))
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.thread_time()
        for _ in range(iters):
            fn()
        cpus.append((time.thread_time() - c0) / iters)
        walls.append((time.perf_counter() - w0) / iters)
    return {"cpu_s_median": statistics.median(cpus), "cpu_s_best": min(cpus),
            "wall_s_median": statistics.median(walls)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", choices=["torch", "numpy"], required=True)
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()
    res = {"lib": args.lib, "loadavg_start": os.getloadavg(), "results": {}}
    rng = np.random.default_rng(0)
    if args.lib == "torch":
        import torch

        torch.set_num_threads(1)
        res["version"] = torch.__version__
        res["backend"] = torch.__config__.show().splitlines()[:12]
        res["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        arr = torch.from_numpy
        mm = lambda a, b, out: torch.mm(a, b, out=out)
        empty = lambda m, n: torch.empty(m, n)
        t = lambda x: x.t()
    else:
        from threadpoolctl import threadpool_info, threadpool_limits

        threadpool_limits(limits=1)
        res["version"] = np.__version__
        res["blas"] = [
            {k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for i in threadpool_info()
        ]
        res["env"] = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        arr = lambda x: x
        mm = lambda a, b, out: np.matmul(a, b, out=out)
        empty = lambda m, n: np.empty((m, n), dtype=np.float32)
        t = lambda x: x.T
    for m, k, n in SHAPES:
        a = arr(rng.standard_normal((m, k), dtype=np.float32))
        b = arr(rng.standard_normal((k, n), dtype=np.float32))
        g = arr(rng.standard_normal((m, n), dtype=np.float32))
        c, gw, gi = empty(m, n), empty(k, n), empty(m, k)
        flops = 2 * m * k * n
        r = bench(lambda: mm(a, b, c))
        r["gflops"] = flops / r["cpu_s_median"] / 1e9
        res["results"][f"{m}x{k}x{n}"] = r

        def backward():
            mm(t(a), g, gw)
            mm(g, t(b), gi)

        r = bench(backward)
        r["gflops"] = 2 * flops / r["cpu_s_median"] / 1e9
        res["results"][f"{m}x{k}x{n} backward"] = r
    res["loadavg_end"] = os.getloadavg()
    for key, r in res["results"].items():
        print(f"{args.lib:6s} {key:24s} cpu median {r['cpu_s_median'] * 1e6:11.1f} us"
              f"  best {r['cpu_s_best'] * 1e6:11.1f} us  wall {r['wall_s_median'] * 1e6:11.1f} us"
              f"  {r['gflops']:7.1f} GFLOP/s")
    for key in ("version", "cpu_capability", "blas", "env", "loadavg_start", "loadavg_end"):
        if key in res:
            print(f"{key}: {res[key]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
