#!/usr/bin/env python3
"""Turns the outputs of scripts/bench.sh (criterion estimates, timings, PyTorch peer results)
into BENCHMARKS.md on stdout.

    python3 scripts/bench_report.py target/bench-report > BENCHMARKS.md
"""
import glob
import json
import os
import re
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "target/bench-report"
CRITERION = os.path.join(os.path.dirname(OUT), "criterion")

MLP_FWD_FLOPS = 2 * 128 * (784 * 1024 + 1024 * 1024 + 1024 * 10)
MLP_STEP_FLOPS = 3 * MLP_FWD_FLOPS
MM_FLOPS = 2 * 1024**3


def criterion_results():
    """{(group, function, value): mean ns} from criterion's estimates."""
    res = {}
    for bench in glob.glob(os.path.join(CRITERION, "**", "new", "benchmark.json"), recursive=True):
        with open(bench) as f:
            meta = json.load(f)
        with open(os.path.join(os.path.dirname(bench), "estimates.json")) as f:
            est = json.load(f)
        key = (meta["group_id"], meta.get("function_id"), meta.get("value_str"))
        res[key] = est["mean"]["point_estimate"]
    return res


def torch_micro():
    path = os.path.join(OUT, "torch_micro.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return lines[-1] if lines else None


def peer(lib):
    path = os.path.join(OUT, f"peer_{lib}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


KERNEL_SHAPES = [(1024, 1024, 1024), (128, 784, 1024), (128, 1024, 1024), (16, 60, 60)]


def kernel_section(c, targets):
    """The FMA peak and the products of benches/kernels.rs beside torch.mm and NumPy."""
    peak_ns = c.get(("fma_peak", "avx512", None)) or c.get(("fma_peak", "avx2", None))
    if not peak_ns:
        return None
    lanes = 16 if c.get(("fma_peak", "avx512", None)) else 8
    peak = 2 * lanes * 100_000 * 12 / peak_ns
    torch, numpy = peer("torch"), peer("numpy")
    print("## Matrix products against the core's peak and the best peer\n")
    print("One thread each, CPU time. Forward: `C = A·B`, `A` (m×k), `B` (k×n). Backward: the two products of a layer")
    print("whose forward is that one, `Aᵀ·G` and `G·Bᵀ`, on transposed views (ndnet through a linear")
    print("`Dense` layer's `backward`; both sides zero the weight gradient first, neither adds a bias).\n")
    print(f"FMA peak of one core (a timed loop of 12 independent {lanes}-lane FMA chains): "
          f"**{peak:.1f} GFLOP/s**.\n")
    if numpy and numpy.get("blas"):
        libs = "; ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')})"
                         for b in numpy["blas"])
        print(f"NumPy {numpy.get('version')}: {libs}, run with `OPENBLAS_CORETYPE` and "
              f"`OPENBLAS_L2_SIZE` unset. PyTorch {torch.get('version') if torch else '–'}, "
              f"CPU capability {torch.get('cpu_capability') if torch else '–'}.\n")
    print("| product (m×k×n) | ndnet | matrixmultiply (avx512) | torch.mm (MKL) | NumPy (OpenBLAS) | ndnet / best peer | ndnet % of peak |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for m, k, n in KERNEL_SHAPES:
        for suffix, factor in (("", 2), ("_backward", 4)):
            flops = factor * m * k * n
            ours = c.get((f"gemm_{m}x{k}x{n}", f"ndnet{suffix}", None))
            mm = c.get((f"gemm_{m}x{k}x{n}", f"matrixmultiply{suffix}", None))
            key = f"{m}x{k}x{n}" + (" backward" if suffix else "")
            tg = torch["results"][key]["gflops"] if torch and key in torch.get("results", {}) else None
            ng = numpy["results"][key]["gflops"] if numpy and key in numpy.get("results", {}) else None
            if not ours:
                continue
            og = flops / ours
            mg = flops / mm if mm else None
            peers = [v for v in (mg, tg, ng) if v]
            best = max(peers) if peers else None
            f = lambda v: f"{v:.1f}" if v else "–"
            print(f"| {m}×{k}×{n}{' backward' if suffix else ''} | {og:.1f} | {f(mg)} | {f(tg)} | {f(ng)} | "
                  f"{f'{og / best:.2f}×' if best else '–'} | {100 * og / peak:.0f}% |")
            if (m, k, n) == (1024, 1024, 1024) and not suffix:
                targets.append(("1024³, one thread: ≥ 85% of the FMA peak and ≥ torch.mm",
                                f"{og:.1f} GFLOP/s = {100 * og / peak:.0f}% of {peak:.1f}"
                                + (f"; torch.mm {tg:.1f}" if tg else ""),
                                og >= 0.85 * peak and (tg is None or og >= tg)))
    print("\nGFLOP/s: 2·m·k·n per product over the median CPU time (criterion's mean for ndnet and")
    print("matrixmultiply). matrixmultiply runs through ndarray's `general_mat_mul` with its `avx512`")
    print("feature on (a dependency of the benches).\n")
    return peak


def read(name):
    path = os.path.join(OUT, name)
    return open(path).read().strip() if os.path.exists(path) else None


def read_json(name):
    path = os.path.join(OUT, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def mnist_ndnet(p):
    """(seconds per epoch, test error %) from the MNIST example's log on `p` product threads."""
    text = read(f"mnist_ndnet_{p}.txt")
    m = re.search(r"error\s+([\d.]+)%.*?([\d.]+) s/epoch", text or "")
    return (float(m.group(2)), float(m.group(1))) if m else None


def pair_rows(get, group, rows, values):
    """Prints `| label | time a | time b | a / b |` for each (label, function) of `rows` that
    criterion measured with both `values`; returns (function, a, b) of the rows printed."""
    printed = []
    for label, f in rows:
        a, b = get(group, f, values[0]), get(group, f, values[1])
        if a and b:
            print(f"| {label} | {us(a)} | {us(b)} | {a / b:.2f}× |")
            printed.append((f, a, b))
    return printed


def us(ns):
    return f"{ns / 1e3:,.1f} µs" if ns < 1e6 else f"{ns / 1e6:,.2f} ms"


def main():
    c = criterion_results()
    t = torch_micro()
    get = lambda g, f, v=None: c.get((g, f, v))
    tw = lambda key: t[key]["cpu_us_median"] * 1e3 if t and key in t else None

    print("# Benchmarks\n")
    print("Generated by `scripts/bench.sh` (criterion benches in `benches/kernels.rs`,")
    print("`benches/forward_backward.rs`, `benches/threads.rs` and `benches/mc_dropout.rs`, a perf")
    print("profile of `benches/step_profile.rs`, one MNIST epoch and the sonar example timed end to")
    print("end, and the PyTorch and NumPy peer scripts run in the same sitting, one thread each unless a")
    print("section says otherwise). Times are CPU time (unless a section says wall time) of the")
    print("computing thread or process (criterion's mean of `CLOCK_THREAD_CPUTIME_ID` for ndnet, the")
    print("scripts' median of `time.thread_time` / `time.process_time` for Python, user + system for the")
    print("end-to-end runs): the machine is shared with other jobs, whose time-slices wall time would")
    print("charge to whatever runs, while their cache pollution still counts. Ratios compare numbers")
    print("from this one run. Do not edit by hand: rerun the script.\n")
    print("## Machine\n")
    print("```text")
    print(read("machine.txt") or "unknown")
    if t:
        print(f"torch: {t.get('torch')} threads={t.get('threads')} load at start={t.get('loadavg_start')}")
    print("```\n")

    targets = []
    peak = kernel_section(c, targets)

    # Sonar networks
    print("## Sonar networks, batch 16\n")
    print("| network | job | ndnet | samples/s | PyTorch | PyTorch / ndnet |")
    print("|---|---|---:|---:|---:|---:|")
    peer = {
        ("sonar_baseline_b16", "forward_eval"): "(a) sonar 60-60-30-1 fwd b16 no_grad",
        ("sonar_baseline_b16", "train_step"): "(b) sonar 60-60-30-1 train step b16",
        ("sonar_hidden_b16", "train_step"): "(b2) sonar Hidden(dropout+maxnorm) step b16",
    }
    for group, label in [("sonar_baseline_b16", "baseline 60-60-30-1"),
                         ("sonar_hidden_b16", "hidden: dropout 0.2 + MaxNorm 3")]:
        for job in ["forward_eval", "forward_backward_train", "train_step"]:
            ns = get(group, job)
            if ns is None:
                continue
            p = tw(peer.get((group, job), ""))
            print(f"| {label} | {job} | {us(ns)} | {16 / (ns * 1e-9):,.0f} | "
                  f"{us(p) if p else '–'} | {f'{p / ns:.1f}×' if p else '–'} |")
    print()
    base_step = get("sonar_baseline_b16", "train_step")
    if base_step:
        p = tw(peer[("sonar_baseline_b16", "train_step")])
        targets.append(("Sonar baseline training step at batch 16, one thread, ≤ 5 µs",
                        f"{us(base_step)}" + (f", {p / base_step:.1f}× PyTorch" if p else ""),
                        base_step <= 5_000))
    epoch = get("sonar_baseline_epoch", "fit_1_epoch_187_rows_b16")
    if epoch:
        print(f"\nOne epoch of the baseline on 187 rows (12 batches, shuffling and gathering included):"
              f" {us(epoch)}, {187 / (epoch * 1e-9):,.0f} samples/s.\n")

    # Large MLP
    print("## Large network: 784-1024-1024-10, dropout 0.5, softmax + cross-entropy, batch 128\n")
    dot = get("matmul_1024", "ndarray_dot")
    dot_gf = MM_FLOPS / dot if dot else None
    print("| job | ndnet | GFLOP/s | % of FMA peak | PyTorch | PyTorch GFLOP/s | PyTorch / ndnet |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    mlp_peer = {"forward_eval": "(c) mlp 784-1024-1024-10 fwd b128 no_grad",
                "train_step": "(c) mlp 784-1024-1024-10 train step b128"}
    for job, flops in [("forward_eval", MLP_FWD_FLOPS), ("forward_backward_train", MLP_STEP_FLOPS),
                       ("train_step", MLP_STEP_FLOPS)]:
        ns = get("mlp_784_1024_1024_10_b128", job)
        if ns is None:
            continue
        gf = flops / ns
        p = tw(mlp_peer.get(job, ""))
        print(f"| {job} | {us(ns)} | {gf:.1f} | {f'{100 * gf / peak:.0f}%' if peak else '–'} | "
              f"{us(p) if p else '–'} | {f'{flops / p:.1f}' if p else '–'} | {f'{p / ns:.1f}×' if p else '–'} |")
        if job == "train_step":
            targets.append(("Large-network step, one thread, ≥ 2× PyTorch",
                            f"{us(ns)}, {gf:.1f} GFLOP/s" + (f"; PyTorch {us(p)}, {p / ns:.2f}×" if p else ""),
                            p is not None and p / ns >= 2))
    print("\nFLOPs: 2·in·out per layer per sample forward, three times that for a step.")
    own = get("matmul_1024", "ndnet_dense_forward")
    step = get("mlp_784_1024_1024_10_b128", "train_step")
    if own and step:
        print(f"Against ndnet's own kernel on a 1024³ product ({MM_FLOPS / own:.1f} GFLOP/s, below), the"
              f" training step runs at {100 * (MLP_STEP_FLOPS / step) / (MM_FLOPS / own):.0f}%: the"
              " element-wise work (ReLU, dropout masks, the momentum update of 1.9 M weights) and the"
              " smaller, transposed products of the backward pass cost the rest.")
    print()

    print("## 1024³ matrix product\n")
    print("| implementation | time | GFLOP/s |")
    print("|---|---:|---:|")
    for label, ns in [("ndarray `general_mat_mul` (matrixmultiply, its `avx512` feature on in the benches)", dot),
                      ("ndnet kernel (a linear `Dense(1024)` forward on 1024 rows)",
                       get("matmul_1024", "ndnet_dense_forward")),
                      ("PyTorch `torch.mm`", tw("(d) torch.mm 1024^3 f32")),
                      ("NumPy `matmul`", tw("(d2) numpy.matmul 1024^3 f32"))]:
        if ns:
            print(f"| {label} | {us(ns)} | {MM_FLOPS / ns:.1f} |")
    print()

    # Sonar end to end
    print("## The three sonar experiments end to end\n")
    times = []
    for i in (1, 2, 3):
        s = read(f"sonar_time_{i}.txt")
        if s:
            wall, user, sys_ = (float(v) for v in s.split()[-3:])
            times.append((user + sys_, wall))
    if times:
        cpu, wall = min(times)
        print("`sonar_dropout --threads 1`: 3 experiments × 10 folds × 300 epochs, data loading included,")
        print(f"best of {len(times)} runs: **{cpu:.2f} CPU-seconds** ({wall:.2f} s wall).\n")
        out = read("sonar_output_1.txt")
        if out:
            print("```text\n" + out + "\n```\n")
        targets.append(("All three sonar experiments ≤ 0.6 s of CPU time", f"{cpu:.2f} s", cpu <= 0.6))
    ts = read("torch_sonar.txt")
    if ts:
        m = re.search(r"Total: wall=([\d.]+)s cpu=([\d.]+)s", ts)
        if m:
            print(f"PyTorch (`sonar_torch.py --threads 1`), same experiments: {float(m.group(2)):.1f} CPU-seconds"
                  f" ({float(m.group(1)):.1f} s wall)"
                  + (f", {float(m.group(2)) / min(times)[0]:.0f}× ndnet." if times else ".") + "\n")

    # Product threads (wall-clock time: the work runs on several threads)
    rows = [("784-1024-1024-10 training step, batch 128", "mlp_b128_train_step"),
            ("same network, forward in inference mode", "mlp_b128_forward_eval"),
            ("1024³ product (a linear `Dense(1024)` on 1024 rows)", "dense_1024_cubed")]
    if any(get("product_threads", f, "1") for _, f in rows):
        print("## Product threads\n")
        print("`benches/threads.rs`: `ndnet::set_product_threads(1)` and `(2)`, wall-clock time")
        print("(criterion's mean), since a split product's work runs on several threads.\n")
        print("| job | 1 thread | 2 threads | speed-up |")
        print("|---|---:|---:|---:|")
        for f, one, two in pair_rows(get, "product_threads", rows, ("1", "2")):
            if f == "mlp_b128_train_step":
                targets.append(("Large-network step on 2 threads ≥ 1.8× its 1-thread speed",
                                f"{one / two:.2f}×", one / two >= 1.8))
        print()

    # Monte-Carlo dropout
    mc_rows = [("sonar Hidden, 60-60-30-1 with Dropout(0.2) ×2, 208 rows", "mc_sonar_hidden_208"),
               ("MNIST net, Dropout(0.2) → 3 × (Dense(1024, ReLU) → Dropout(0.5)) → Dense(10, softmax),"
                " 1,000 rows of random pixels", "mc_mnist_3x1024_1000")]
    if any(get(g, "predict") for _, g in mc_rows):
        print("## Monte-Carlo dropout\n")
        print("`benches/mc_dropout.rs`: `predict` is one forward pass in inference mode, `predict_mc(T)` is")
        print("`model.mc_dropout(T).seed(7).threads(1).predict(&x)` (one mask per row). One thread, CPU time.")
        print("The ratio is `predict_mc(T) / (T × predict)`.\n")
        print("| case | predict | T = 1 | T = 10 | T = 50 | ratio T = 1 / 10 / 50 |")
        print("|---|---:|---:|---:|---:|---|")
        for label, g in mc_rows:
            base = get(g, "predict")
            ts = [get(g, "predict_mc_threads1", v) for v in ("1", "10", "50")]
            if base and all(ts):
                ratios = " / ".join(f"{t / (n * base):.2f}" for t, n in zip(ts, (1, 10, 50)))
                print(f"| {label} | {us(base)} | {' | '.join(us(t) for t in ts)} | {ratios} |")
        g = "mc_mnist_3x1024_1000_wall"
        one, two = get(g, "predict_mc_threads1", "50"), get(g, "predict_mc_threads2", "50")
        if one and two:
            print(f"\nThe MNIST net's `predict_mc(50)` on `.threads(1)` and `.threads(2)`, wall time:"
                  f" {us(one)} and {us(two)}, {one / two:.2f}×.")
        print()

    # Where the large step's time goes
    bd = read_json("step_breakdown.json")
    if bd and bd.get("samples"):
        prof = read("step_profile.txt") or ""
        m = re.search(r"([\d.]+) ms per step", prof)
        print("## Where the large step's time goes\n")
        print("`benches/step_profile.rs` (300 training steps of the 784-1024-1024-10 network above, one")
        print("thread" + (f", {m.group(1)} ms per step wall" if m else "") + ") under `perf record` with DWARF")
        print("call graphs; `scripts/step_breakdown.py` gives each sample inside a step to the first")
        print(f"group its stack matches ({bd['samples']:,} samples):\n")
        print("| part of the step | share |")
        print("|---|---:|")
        for name, share in bd["shares"].items():
            print(f"| {name} | {share:.1f}% |")
        print()

    # MNIST epoch
    nd = {p: mnist_ndnet(p) for p in (1, 2)}
    pt = {p: read_json(f"mnist_torch_{p}.json") for p in (1, 2)}
    if nd[1]:
        print("## One MNIST epoch\n")
        print("The dropout + max-norm network of the MNIST example (Dropout(0.2), 3 × (Dense(1024, ReLU),")
        print("Dropout(0.5)), Dense(10, softmax), max-norm 3, SGD with PyTorch-form momentum from 0.5):")
        print("600 updates of batch 100 and the pass over the 10,000 test images, wall time.")
        print("`mnist_dropout --models dropout-maxnorm --epochs 1 --product-threads P` against")
        print("`scripts/mnist_torch.py --threads P`, the same recipe in PyTorch (the data loading")
        print("excluded on both sides).\n")
        print("| threads | ndnet | test error | PyTorch (train + test pass) | PyTorch CPU-s | test error | PyTorch / ndnet |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for p in (1, 2):
            if not nd[p]:
                continue
            secs, err = nd[p]
            e = pt[p]["epochs"][0] if pt[p] else None
            tsecs = e["train_wall_s"] + e["test_wall_s"] if e else None
            tcpu = f"{e['train_cpu_s'] + e['test_cpu_s']:.1f}" if e else "–"
            terr = f"{e['test_error_pct']:.2f}%" if e else "–"
            print(f"| {p} | {secs:.1f} s | {err:.2f}% | {f'{tsecs:.1f} s' if e else '–'} | "
                  f"{tcpu} | {terr} | {f'{tsecs / secs:.2f}×' if e else '–'} |")
        print()
        e1 = pt[1]["epochs"][0] if pt[1] else None
        t1 = e1["train_wall_s"] + e1["test_wall_s"] if e1 else None
        two = f"; 2 threads {nd[2][0]:.1f} s" if nd[2] else ""
        targets.append(("MNIST 3×1024 epoch, one thread, ≥ 2× PyTorch (2-thread time stated)",
                        f"{nd[1][0]:.1f} s" + (f", PyTorch {t1:.1f} s, {t1 / nd[1][0]:.2f}×" if t1 else "") + two,
                        t1 is not None and t1 / nd[1][0] >= 2))

    # Subnormals
    rows = [("SGD update (momentum 0.9) of 1024×1024 weights, zero gradients, every velocity 4·2⁻¹⁴⁹",
             "sgd_update_1024x1024_subnormal_velocity"),
            ("sonar baseline training step, batch 16", "sonar_baseline_b16_train_step")]
    if any(get("subnormals", f, "off") for _, f in rows):
        print("## Subnormals\n")
        print("`ndnet::set_flush_subnormals(false)` and `(true)` (the default: subnormal results of the")
        print("optimizers and activations flushed to zero in software). One thread, CPU time. Without the")
        print("flush the velocities stay subnormal from call to call; with it the first call zeroes them.\n")
        print("| job | flush off | flush on | off / on |")
        print("|---|---:|---:|---:|")
        pair_rows(get, "subnormals", rows, ("off", "on"))
        print()

    # Scaling
    print("## Scaling\n")
    print("Sonar baseline network, by batch size (time per call and samples/s):\n")
    print("| batch | forward (eval) | samples/s | training step | samples/s |")
    print("|---:|---:|---:|---:|---:|")
    for b in ["1", "16", "64", "256", "1024"]:
        f = get("batch_scaling_sonar_baseline", "forward_eval", b)
        s = get("batch_scaling_sonar_baseline", "train_step", b)
        if f and s:
            print(f"| {b} | {us(f)} | {int(b) / (f * 1e-9):,.0f} | {us(s)} | {int(b) / (s * 1e-9):,.0f} |")
    print("\n60-h-h/2-1 network at batch 16, by hidden width h:\n")
    print("| h | parameters | forward (eval) | training step | step GFLOP/s |")
    print("|---:|---:|---:|---:|---:|")
    for h in ["30", "60", "256", "1024", "4096"]:
        f = get("width_scaling_b16", "forward_eval", h)
        s = get("width_scaling_b16", "train_step", h)
        if f and s:
            hh = int(h)
            h2 = (hh + 1) // 2
            params = 60 * hh + hh + hh * h2 + h2 + h2 + 1
            flops = 3 * 2 * 16 * (60 * hh + hh * h2 + h2)
            print(f"| {h} | {params:,} | {us(f)} | {us(s)} | {flops / s:.1f} |")
    print()

    print("## Targets\n")
    print("| target | measured | met |")
    print("|---|---|:---:|")
    for name, val, ok in targets:
        print(f"| {name} | {val} | {'yes' if ok else '**no**'} |")
    print("| Zero heap allocations per training step after the first | `tests/allocations.rs` (counting allocator) | yes (test) |")
    print("| Bitwise the same results on 1, 2, 3 or 5 product threads | `tests/product_threads.rs` | yes (test) |")
    print("| Flush-to-zero of subnormal results, on by default | `tests/subnormals.rs`; effect: Subnormals above | yes (in software) |")
    print()


if __name__ == "__main__":
    main()
