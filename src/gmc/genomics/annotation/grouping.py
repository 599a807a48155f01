"""Row groups of a string column (chromosomes) found in one pass, without sorting Python strings."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def groups_of(values: Sequence[str] | np.ndarray | pa.Array | pa.ChunkedArray) -> Iterator[tuple[str, np.ndarray]]:
    """Yields (value, ascending row numbers) for each distinct non-null value, values in sorted order.

    The same groups as `for v in np.unique(a): rows = np.nonzero(a == v)[0]`, but one dictionary encoding
    and one integer sort instead of sorting the strings and comparing every row once per distinct value.
    """
    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = pa.array(values, pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not len(values):
        return
    encoded = pc.dictionary_encode(values)
    names = encoded.dictionary.to_pylist()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    if encoded.indices.null_count:
        codes = np.where(encoded.indices.is_valid().to_numpy(zero_copy_only=False), codes, -1)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1), side="left")
    for code in sorted(range(len(names)), key=names.__getitem__):
        yield names[code], order[bounds[code]:bounds[code + 1]]
