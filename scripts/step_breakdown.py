#!/usr/bin/env python3
"""Where the large MLP's training step spends its time, from a sampling profile of
benches/step_profile.rs (perf with DWARF call graphs):

  perf record -F 499 --call-graph dwarf,16384 -o step.data -- cargo bench --bench step_profile
  perf script -i step.data | python3 scripts/step_breakdown.py --json step_breakdown.json

Each sample inside a training step (`Sequential::step`) goes to the first rule its stack
matches: matrix products (forward / backward), dropout masks, the optimizer update (with the
constraints), the step's copies and checks for undoing it, the other element-wise work of the
forward and backward passes, and the rest (loss, bookkeeping). Prints the shares.
"""
import argparse
import json
import sys

RULES = [
    ("products, forward", lambda leaf, st: "kernels::gemm" in st and "model::step::forward" in st),
    ("products, backward", lambda leaf, st: "kernels::gemm" in st and "model::step::backward" in st),
    ("dropout masks", lambda leaf, st: "fill_mask" in st),
    ("optimizer update and constraints", lambda leaf, st: "apply_updates" in st),
    ("copies and checks for undoing the step",
     lambda leaf, st: any(k in st for k in ("check_grads_and_save", "first_non_finite",
                                            "save_state", "restore_params", "restore_state"))),
    ("forward, element-wise (bias, activation, dropout)", lambda leaf, st: "model::step::forward" in st),
    ("backward, element-wise (activation and dropout gradients, bias gradient)",
     lambda leaf, st: "model::step::backward" in st),
    ("loss and bookkeeping", lambda leaf, st: True),
]


def samples(lines):
    frames = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                yield frames
            frames = []
        elif line.startswith((" ", "\t")):
            parts = line.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else parts[0])
        # the header line of a sample (comm, pid, time, event) starts at column 0
    if frames:
        yield frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    args = ap.parse_args()
    counts = {name: 0 for name, _ in RULES}
    total = 0
    for frames in samples(sys.stdin):
        stack = "\n".join(frames)
        if "Sequential>::step" not in stack:
            continue
        total += 1
        for name, rule in RULES:
            if rule(frames[0], stack):
                counts[name] += 1
                break
    shares = {name: (100.0 * n / total if total else 0.0) for name, n in counts.items()}
    for name, share in shares.items():
        print(f"{share:5.1f}%  {name}")
    print(f"({total} samples in training steps)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"samples": total, "shares": shares}, f, indent=1)


if __name__ == "__main__":
    main()
