#!/usr/bin/env python3
"""Writes a tiny checkpoint in PyTorch's legacy (pre-1.6) format without torch,
to test ismc's reader on bytes produced by Python's own pickler: stand-in
modules `torch` and `torch._utils` make the pickler emit the same GLOBALs
and persistent ids that torch.save wrote, then the storages follow raw.

Tensors (values in the JSON written alongside, row-major):
  a: float32 [2, 3], contiguous, storage s0 offset 0
  b: float32 [3, 2], a transposed view (stride (1, 3)) of storage s1 at offset 2
  n: int64 [] (like BatchNorm's num_batches_tracked), storage s2

Exact command (from the repository root):

    python3 scripts/tiny_legacy_checkpoint.py assets/fixtures/tiny_legacy.pt assets/fixtures/tiny_legacy.json
"""
import collections
import io
import json
import pickle
import struct
import sys
import types

torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")


class FloatStorage:
    pass


class LongStorage:
    pass


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called")


for obj, mod in [(FloatStorage, torch), (LongStorage, torch), (_rebuild_tensor_v2, utils)]:
    obj.__module__ = mod.__name__
    setattr(mod, obj.__name__, obj)
sys.modules["torch"] = torch
sys.modules["torch._utils"] = utils


class Storage:
    def __init__(self, cls, key, values, fmt):
        self.cls, self.key, self.values, self.fmt = cls, key, values, fmt


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (_rebuild_tensor_v2, self.args)


class LegacyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.cls, obj.key, "cpu", len(obj.values), None)
        return None


def main():
    pt, js = sys.argv[1:3]
    s0 = Storage(FloatStorage, "100", [0.5, -1.25, 2.0, 3.5, -4.0, 1e-3], "<f")
    s1 = Storage(FloatStorage, "200", [9.0, 9.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "<f")
    s2 = Storage(LongStorage, "300", [123456789012], "<q")
    state = collections.OrderedDict(
        [("a", Tensor(s0, 0, (2, 3), (3, 1))), ("b", Tensor(s1, 2, (3, 2), (1, 3))), ("n", Tensor(s2, 0, (), ()))]
    )
    buf = io.BytesIO()
    pickle.dump(0x1950A86A20F9469CFC6C, buf, protocol=2)
    pickle.dump(1001, buf, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}, buf, protocol=2)
    LegacyPickler(buf, protocol=2).dump(state)
    pickle.dump([s.key for s in (s0, s1, s2)], buf, protocol=2)
    for s in (s0, s1, s2):
        buf.write(struct.pack("<q", len(s.values)))
        buf.write(struct.pack(s.fmt[0] + s.fmt[1] * len(s.values), *s.values))
    with open(pt, "wb") as f:
        f.write(buf.getvalue())
    # b[i][j] = s1[2 + i*1 + j*3]
    expected = {
        "a": {"shape": [2, 3], "values": s0.values},
        "b": {"shape": [3, 2], "values": [s1.values[2 + i + 3 * j] for i in range(3) for j in range(2)]},
        "n": {"shape": [], "values": s2.values},
    }
    with open(js, "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
