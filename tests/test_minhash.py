"""Our numpy MinHash against datasketch's affine32 scheme, which it must equal bit
for bit: stored fingerprints were made by datasketch before we dropped it."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHash

from aggregator.core.dedupe.core import NUM_PERM, SEED
from aggregator.core.dedupe.minhash import EMPTY, MinHasher


def datasketch_signature(shingles: list[bytes], num_perm: int, seed: int) -> np.ndarray:
    sketch = MinHash(num_perm=num_perm, seed=seed, scheme="affine32")
    sketch.update_batch(shingles)
    return sketch.hashvalues


def random_shingles(rng: random.Random, count: int) -> list[bytes]:
    words = ["car-t", "lupus", "cd19", "allogeneic", "patient", "dosed", "phase", "1",
             "trial", "über", "ﬁrst", "€", "", "the", "of"]
    return list({" ".join(rng.choice(words) for _ in range(3)).encode() for _ in range(count)})


@pytest.mark.parametrize(("num_perm", "seed"), [(NUM_PERM, SEED), (16, 1), (256, 7)])
def test_signatures_equal_datasketch(num_perm: int, seed: int) -> None:
    rng = random.Random(seed)
    hasher = MinHasher(num_perm, seed)
    for count in (1, 2, 5, 40, 300):
        shingles = random_shingles(rng, count)
        ours = hasher.signature(shingles)
        assert ours.dtype == np.dtype("<u4") and len(ours) == num_perm
        assert ours.tolist() == datasketch_signature(shingles, num_perm, seed).tolist()


def test_empty_set_is_all_maximum_like_datasketch() -> None:
    ours = MinHasher(NUM_PERM, SEED).signature([])
    assert ours.tolist() == [EMPTY] * NUM_PERM
    assert ours.tolist() == MinHash(num_perm=NUM_PERM, seed=SEED,
                                    scheme="affine32").hashvalues.tolist()


def test_order_and_repeats_do_not_change_the_signature() -> None:
    hasher = MinHasher(NUM_PERM, SEED)
    shingles = [b"cd19 car-t lupus", b"first patient dosed", b"phase 1 trial"]
    assert hasher.signature(shingles).tolist() == hasher.signature(
        list(reversed(shingles)) + shingles[:1]).tolist()
