"""Work that repeats across the cells of a study, computed once per worker process and shared.

The cells of a grid that share a dataset, a seed and a learner start from the same split, the same
full-pool reference fit and the same difficulty model of the oracle; only the strategy differs. Inside a
study (:func:`alsim.experiments.run_experiment` turns this on around each cell with :func:`sharing`) those
pieces are kept in a small least-recently-used store keyed by a fingerprint of their *content* (the
dataset's features and labels, the test share, the seed, the learner's parameters), so a cell reuses them
only when it would have computed exactly the same arrays: results are bit-identical with or without it.

Outside :func:`sharing` nothing is stored and every call computes afresh, so a lone ``alsim.simulate`` call
never holds memory or depends on an earlier call (a cell runs with single-threaded BLAS inside a study,
and a stored piece must never cross into code running with another thread count).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

__all__ = ["SharedWorkCache", "array_fingerprint", "dataset_fingerprint", "learner_fingerprint", "sharing"]

T = TypeVar("T")

#: Entries kept per process (a study's workers see the cells of a few (dataset, seed) groups at a time).
DEFAULT_MAX_ENTRIES = 32
#: Bytes of arrays kept per process; a piece larger than this is computed but not kept.
DEFAULT_MAX_BYTES = 512 * 1024**2


class SharedWorkCache:
    """A bounded least-recently-used store of computed pieces, counted in entries and in array bytes.

    Parameters
    ----------
    max_entries : int
        Pieces kept at most.
    max_bytes : int
        Total ``nbytes`` of the numpy arrays in the kept pieces at most.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Array bytes currently kept."""
        return self._bytes

    def get_or_compute(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """Return the piece stored under ``key``, computing (and keeping) it on a miss.

        Arrays inside a kept piece are made read-only, so a caller that tried to change a shared array in
        place would get an error instead of silently changing later cells.
        """
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found[0]
            self.misses += 1
        value = compute()
        size = _freeze_arrays(value)
        if size > self.max_bytes:
            return value
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (value, size)
                self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped
        return value

    def clear(self) -> None:
        """Forget every kept piece and reset the hit and miss counts."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = 0
            self.misses = 0


_CACHE = SharedWorkCache()
_active = threading.local()


def shared_cache() -> SharedWorkCache | None:
    """Return this process's store while :func:`sharing` is on in this thread, else None."""
    return _CACHE if getattr(_active, "depth", 0) > 0 else None


@contextlib.contextmanager
def sharing() -> Iterator[SharedWorkCache]:
    """Turn on sharing of repeated work for the calls made inside the block (in this thread)."""
    _active.depth = getattr(_active, "depth", 0) + 1
    try:
        yield _CACHE
    finally:
        _active.depth -= 1


def clear_shared_work() -> None:
    """Drop everything this process keeps (the parent of an in-process study calls it at the end)."""
    _CACHE.clear()


def cached(key: tuple[Any, ...] | None, compute: Callable[[], T]) -> T:
    """Return ``compute()``, shared through this process's store when sharing is on and ``key`` is known."""
    store = shared_cache()
    if store is None or key is None:
        return compute()
    return store.get_or_compute(key, compute)


def _freeze_arrays(value: Any) -> int:
    """Make the numpy arrays in ``value`` (a tuple, a dataclass-like object, an array) read-only; return their bytes."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
        return int(value.nbytes)
    if isinstance(value, (tuple, list)):
        return sum(_freeze_arrays(item) for item in value)
    if hasattr(value, "__dataclass_fields__"):
        return sum(_freeze_arrays(getattr(value, name)) for name in value.__dataclass_fields__)
    return 0


def _hash_update_array(digest: Any, array: np.ndarray) -> None:
    array = np.asarray(array)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    if array.dtype == object:
        digest.update("\x1f".join(map(str, array.ravel().tolist())).encode("utf-8", "surrogatepass"))
    else:
        digest.update(np.ascontiguousarray(array))  # the buffer itself: no copy of a contiguous array


def array_fingerprint(*arrays: np.ndarray) -> str:
    """Hex digest of the dtype, shape and content of each array, in order.

    A read-only array that owns its data (as the store leaves the arrays of a shared split) is hashed once
    for its life: every cell of a study fingerprints the same pool and test arrays, several megabytes each.
    """
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        digest.update(_array_digest(array))
    return digest.hexdigest()


def _array_digest(array: np.ndarray) -> bytes:
    frozen = isinstance(array, np.ndarray) and not array.flags.writeable and array.flags.owndata
    if frozen:
        remembered = _array_digests.get(id(array))
        if remembered is not None and remembered[0]() is array:
            return remembered[1]
    digest = hashlib.blake2b(digest_size=16)
    _hash_update_array(digest, array)
    value = digest.digest()
    if frozen:
        key = id(array)
        _array_digests[key] = (weakref.ref(array, lambda _: _array_digests.pop(key, None)), value)
    return value


_array_digests: dict[int, tuple[weakref.ref[Any], bytes]] = {}


def dataset_fingerprint(dataset: Any) -> str:
    """Hex digest of a :class:`alsim.datasets.Dataset`'s content: name, spec, column names and types, values, labels.

    Hashing a table takes tens of milliseconds, a sizeable share of a small cell, so the digest is
    remembered for the life of the ``Dataset`` object (a study's worker loads each dataset once and never
    changes it; a ``Dataset`` is frozen, though its DataFrame could be edited in place by a custom engine).
    """
    remembered = _dataset_fingerprints.get(id(dataset))
    if remembered is not None and remembered[0]() is dataset:
        return remembered[1]
    fingerprint = _content_fingerprint(dataset)
    key = id(dataset)
    _dataset_fingerprints[key] = (weakref.ref(dataset, lambda _: _dataset_fingerprints.pop(key, None)), fingerprint)
    return fingerprint


_dataset_fingerprints: dict[int, tuple[weakref.ref[Any], str]] = {}


def _content_fingerprint(dataset: Any) -> str:
    import pandas as pd

    digest = hashlib.blake2b(digest_size=16)
    features = dataset.features
    header = [dataset.name, dataset.spec, dataset.label, [str(c) for c in features.columns]]
    header.append([str(dtype) for dtype in features.dtypes])
    digest.update(repr(header).encode("utf-8", "surrogatepass"))
    for name in features.columns:  # categories matter beyond the values (one-hot columns come from them)
        column = features[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            digest.update(repr(list(column.cat.categories)).encode("utf-8", "surrogatepass"))
    digest.update(pd.util.hash_pandas_object(features, index=True).to_numpy().tobytes())
    _hash_update_array(digest, np.asarray(dataset.target, dtype=object))
    return digest.hexdigest()


def learner_fingerprint(learner: Any) -> str | None:
    """A key for a learner: its name, or a digest of the estimator's class and parameters (None if unhashable)."""
    if isinstance(learner, str):
        return f"name:{learner}"
    try:
        import joblib  # type: ignore[import-untyped]

        return f"estimator:{type(learner).__module__}.{type(learner).__qualname__}:{joblib.hash(learner)}"
    except Exception:  # an estimator that cannot be pickled: computed every time, never shared
        return None
