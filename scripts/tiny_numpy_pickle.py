#!/usr/bin/env python3
"""Writes assets/fixtures/tiny_numpy.pkl, the sample of the numpy-pickle
reader's unit test (src/nn/weights/numpy_pickle.rs): a dict holding a list of
two C-order float32 arrays and one Fortran-order float64 array, protocol 3.

Exact command (from the repository root; numpy (2.4.6 here) is the only dependency):

    python3 scripts/tiny_numpy_pickle.py assets/fixtures/tiny_numpy.pkl
"""
import pickle
import sys

import numpy as np


def main():
    d = {
        "w": [np.arange(6, dtype="<f4").reshape(2, 3), np.array([1.5, -2.0], dtype="<f4")],
        "f": np.asfortranarray(np.arange(6, dtype="<f8").reshape(2, 3)),
    }
    assert d["f"].flags["F_CONTIGUOUS"] and not d["f"].flags["C_CONTIGUOUS"]
    with open(sys.argv[1], "wb") as f:
        pickle.dump(d, f, protocol=3)


if __name__ == "__main__":
    main()
