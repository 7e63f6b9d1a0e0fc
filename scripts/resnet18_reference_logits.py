#!/usr/bin/env python3
"""Independent reference logits of seeded ResNet-18 networks (no torch).

Reads the networks that ismc exports as safetensors (a tiny parser below:
8-byte little-endian header length, JSON header, raw little-endian data),
and runs a plain numpy forward pass in float64, written from the layer
definitions and not from ismc's code:

  * optional ImageNet normalisation (x - mean) / std;
  * convolution by explicit sums over kernel offsets on a zero-padded input,
    any stride;
  * BatchNorm in eval mode: (x - running_mean) / sqrt(running_var + 1e-5)
    * weight + bias (unfolded);
  * max-pool 3x3 / 2, padding 1 with -inf padding;
  * BasicBlocks relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the
    shortcut a 1x1 strided conv + BatchNorm where `downsample` exists;
  * global average pool, then fc.

Writes assets/fixtures/resnet18_reference_logits.json: per case the logits
of the two exported inputs and the sha256 of the exported tensors (over
name, a 0 byte and the little-endian f32 values, in name order), so the
Rust test can tell a changed network from a wrong forward pass.

Exact command (from the repository root; numpy is the only dependency):

    ISMC_RESNET_EXPORT=/tmp/resnet18-export \
        cargo test --test nn_resnet -- --ignored export_reference_networks && \
    python3 scripts/resnet18_reference_logits.py /tmp/resnet18-export \
        assets/fixtures/resnet18_reference_logits.json
"""
import hashlib
import json
import os
import struct
import sys

import numpy as np

CASES = ["cifar", "imagenet-stem-64"]
EPS = 1e-5
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n :]
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        tensors[name] = np.frombuffer(body[a:b], dtype="<f4").reshape(info["shape"])
    return tensors, meta


def digest(tensors):
    h = hashlib.sha256()
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(b"\0")
        h.update(tensors[name].astype("<f4").tobytes())
    return h.hexdigest()


def conv(x, w, stride, pad):
    """x [n, c, h, w], w [o, c, k, k] -> [n, o, h', w'], zero padding."""
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad))
    xp[:, :, pad : pad + h, pad : pad + wd] = x
    oh = (h + 2 * pad - k) // stride + 1
    ow = (wd + 2 * pad - k) // stride + 1
    y = np.zeros((n, o, oh, ow))
    for a in range(k):
        for b in range(k):
            patch = xp[:, :, a : a + stride * (oh - 1) + 1 : stride, b : b + stride * (ow - 1) + 1 : stride]
            y += np.einsum("oc,nchw->nohw", w[:, :, a, b], patch)
    return y


def batch_norm(x, t, prefix):
    g, b = t[prefix + ".weight"], t[prefix + ".bias"]
    m, v = t[prefix + ".running_mean"], t[prefix + ".running_var"]
    r = lambda a: a.reshape(1, -1, 1, 1)
    return (x - r(m)) / np.sqrt(r(v) + EPS) * r(g) + r(b)


def max_pool_3_2_1(x):
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2, w + 2), -np.inf)
    xp[:, :, 1 : 1 + h, 1 : 1 + w] = x
    oh, ow = (h + 2 - 3) // 2 + 1, (w + 2 - 3) // 2 + 1
    y = np.full((n, c, oh, ow), -np.inf)
    for a in range(3):
        for b in range(3):
            y = np.maximum(y, xp[:, :, a : a + 2 * (oh - 1) + 1 : 2, b : b + 2 * (ow - 1) + 1 : 2])
    return y


relu = lambda x: np.maximum(x, 0.0)


def forward(t, arch, x):
    if arch["input_norm"] == "imagenet":
        x = (x - IMAGENET_MEAN.astype(np.float64).reshape(1, 3, 1, 1)) / IMAGENET_STD.astype(
            np.float64
        ).reshape(1, 3, 1, 1)
    if arch["stem"] == "imagenet":
        h = relu(batch_norm(conv(x, t["conv1.weight"], 2, 3), t, "bn1"))
        h = max_pool_3_2_1(h)
    else:
        h = relu(batch_norm(conv(x, t["conv1.weight"], 1, 1), t, "bn1"))
    for stage, count in enumerate(arch["blocks"]):
        for blk in range(count):
            p = f"layer{stage + 1}.{blk}"
            stride = 2 if stage > 0 and blk == 0 else 1
            out = relu(batch_norm(conv(h, t[p + ".conv1.weight"], stride, 1), t, p + ".bn1"))
            out = batch_norm(conv(out, t[p + ".conv2.weight"], 1, 1), t, p + ".bn2")
            if p + ".downsample.0.weight" in t:
                sc = batch_norm(conv(h, t[p + ".downsample.0.weight"], stride, 0), t, p + ".downsample.1")
            else:
                sc = h
            h = relu(out + sc)
    h = h.mean(axis=(2, 3))
    return h @ t["fc.weight"].T + t["fc.bias"]


def main(export_dir, out_path):
    result = {}
    for name in CASES:
        raw, meta = read_safetensors(os.path.join(export_dir, f"{name}.safetensors"))
        sha = digest(raw)
        assert sha == meta["ismc.sha256"], (name, sha, meta["ismc.sha256"])
        arch = json.loads(meta["ismc.arch"])
        assert arch["arch"] == "resnet", arch
        t = {k: v.astype(np.float64) for k, v in raw.items()}
        logits = forward(t, arch, t["inputs"])
        result[name] = {"seed": int(meta["ismc.seed"]), "sha256": sha, "logits": logits.tolist()}
        print(name, np.round(logits, 4))
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
