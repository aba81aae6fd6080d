"""Input validation shared by the metric functions.

Every metric receives user data (arrays, frames, links tables).  These helpers turn it into float
arrays and raise :class:`agglomeration.errors.InputError` with ``field`` naming the offending
argument, so a bad input never surfaces as a crash deep inside numpy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from agglomeration.errors import InputError

LINK_COLUMNS = (
    "buyer",
    "supplier",
    "buyer_region",
    "supplier_region",
    "input_sector",
    "value",
    "delivered_cost",
    "distance_km",
)


def as_array(
    x: Any,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    nonneg: bool = False,
    positive: bool = False,
    allow_empty: bool = True,
) -> np.ndarray:
    """Convert ``x`` to a finite float array, checking its dimension and sign.

    Raises InputError(field=name) when ``x`` is not numeric, not finite, has the wrong number of
    dimensions, is empty (unless ``allow_empty``) or is negative (``nonneg``) / not positive
    (``positive``).
    """
    if isinstance(x, pd.DataFrame | pd.Series):
        x = x.to_numpy()
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"expected numbers, got {type(x).__name__} ({exc})", field=name) from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise InputError(f"expected a {want} array, got shape {arr.shape}", field=name)
    if not allow_empty and arr.size == 0:
        raise InputError("expected at least one value, got an empty array", field=name)
    if not np.all(np.isfinite(arr)):
        raise InputError("expected finite numbers, found NaN or infinity", field=name)
    if positive and np.any(arr <= 0):
        raise InputError(f"expected values > 0, found minimum {arr.min():g}", field=name)
    if nonneg and np.any(arr < 0):
        raise InputError(
            f"expected values >= 0 (employment cannot be negative), found minimum {arr.min():g}",
            field=name,
        )
    return arr


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise InputError(field=name_b) unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise InputError(f"shape {b.shape} does not match {name_a} shape {a.shape}", field=name_b)


def as_index(x: Any, name: str, size: int) -> np.ndarray:
    """Convert ``x`` to a 1-D integer index array with every value in ``[0, size)``."""
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise InputError(
            f"expected a 1-D array of region indices, got shape {arr.shape}", field=name
        )
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or np.any(arr != np.round(arr)):
            raise InputError("expected integer region indices", field=name)
        arr = arr.astype(np.int64)
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        raise InputError(
            f"expected indices in [0, {size}), found [{arr.min()}, {arr.max()}]", field=name
        )
    return arr


def as_links(links: Any, required: Iterable[str], name: str = "links") -> pd.DataFrame:
    """Return ``links`` as a DataFrame (a mapping of columns is accepted) with ``required`` columns."""
    if isinstance(links, Mapping) and not isinstance(links, pd.DataFrame):
        try:
            links = pd.DataFrame(dict(links))
        except ValueError as exc:
            raise InputError(f"columns of different lengths ({exc})", field=name) from None
    if not isinstance(links, pd.DataFrame):
        raise InputError(
            f"expected a DataFrame (model.links_frame()) or a mapping of columns, got {type(links).__name__}",
            field=name,
        )
    missing = [c for c in required if c not in links.columns]
    if missing:
        raise InputError(
            f"missing column(s) {missing}; expected the model.links_frame() columns {list(LINK_COLUMNS)}",
            field=name,
        )
    if "value" in required:
        as_array(links["value"], f"{name}.value", ndim=1, nonneg=True)
    return links


def label_positions(values: Any, labels: Any | None, size: int, name: str) -> np.ndarray:
    """Map region/sector identifiers to positions.

    With ``labels`` (a pandas Index, e.g. a DataFrame's index or columns) identifiers are looked up by
    label; without, they must already be integer positions in ``[0, size)``.  Unknown identifiers
    raise InputError(field=name).
    """
    vals = np.asarray(values)
    if labels is not None:
        pos = pd.Index(labels).get_indexer(vals)
        if np.any(pos < 0):
            bad = pd.unique(vals[pos < 0])[:5]
            raise InputError(
                f"unknown identifiers {list(bad)}; known: {list(labels)[:20]}", field=name
            )
        return pos.astype(np.int64)
    return as_index(vals, name, size)
