"""MinHash signatures in datasketch's "affine32" scheme, computed with numpy alone.

Why not `datasketch.MinHash`: importing datasketch loads its LSH module and scipy with
it, about 70 MB of resident memory in every process that fingerprints (the polling
process and each document worker), for the few lines of numpy below. Signatures are
bit-identical to ``datasketch.MinHash(num_perm, seed=seed, scheme="affine32")`` fed
the same byte strings (tests/test_minhash.py checks that against datasketch, a test
dependency), so fingerprints stored by earlier versions stay comparable.

The scheme: each shingle is hashed to 32 bits (the first four bytes of its SHA-1,
little-endian), mixed by the MurmurHash3 finalizer, then sent through `num_perm`
affine maps ``h -> a*h + b mod 2**32`` with odd `a`; the signature is the minimum of
each map over the shingles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

import numpy as np

#: MurmurHash3's 32-bit finalizer: shift, multiplier, shift, multiplier, shift.
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35),
           np.uint32(16))
EMPTY = 0xFFFFFFFF


class MinHasher:
    """Signatures for one (num_perm, seed) pair; the permutations are drawn once."""

    def __init__(self, num_perm: int, seed: int) -> None:
        generator = np.random.RandomState(seed)
        # The same draws, in the same order and dtypes, as datasketch's affine32 scheme.
        odd = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32)
        self._a = odd * np.uint32(2) + np.uint32(1)
        self._b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
        self.num_perm = num_perm

    def signature(self, shingles: Collection[bytes]) -> np.ndarray:
        """The little-endian uint32 signature of a set of byte strings (all `EMPTY`
        for none)."""
        if not shingles:
            return np.full(self.num_perm, EMPTY, dtype="<u4")
        digests = b"".join(hashlib.sha1(shingle).digest()[:4] for shingle in shingles)
        hashed = _fmix32(np.frombuffer(digests, dtype="<u4").astype(np.uint32))
        with np.errstate(over="ignore"):  # the maps are meant to wrap modulo 2**32
            permuted = hashed[:, None] * self._a + self._b
        return permuted.min(axis=0).astype("<u4")


def _fmix32(values: np.ndarray) -> np.ndarray:
    shift1, mult1, shift2, mult2, shift3 = _FMIX32
    with np.errstate(over="ignore"):
        values = values ^ (values >> shift1)
        values = values * mult1
        values = values ^ (values >> shift2)
        values = values * mult2
    return values ^ (values >> shift3)
