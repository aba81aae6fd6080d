"""Supply-chain formation metrics (PROJECT-DEFINED).

There is no standard "chain completeness" index in the literature (docs/METRICS.md, "Chains"); the
metrics here are explicit project-defined constructions, built from established pieces:

* :func:`local_sourcing_share` - simulated analogue of a regional purchase coefficient (RPC).
* :func:`chain_coverage` - IO-coefficient-weighted share of a chain's upstream stages present in a
  region.
* :func:`complete_chains` - chains with every stage present (and, given links, sourced) inside a
  region or a network of regions.
* :func:`excess_intraregional_links` - observed intra-regional link share against a
  random-location null (mirrors the Ellison-Glaeser dartboard logic).

Links follow ``model.links_frame()`` (docs/ARCHITECTURE.md): columns buyer, supplier,
buyer_region, supplier_region, input_sector, value (CNY m per step), delivered_cost, distance_km;
imports have ``supplier == -1`` and ``supplier_region`` = a gateway id, and never count as local
even if a gateway id coincides with a region id.  Region and sector identifiers are compared as
given (ids or integer positions); when a region x sector table is a DataFrame its index/columns
are the labels, otherwise identifiers are integer positions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import pandas as pd

from agglomeration.errors import InputError
from agglomeration.metrics._checks import as_array, as_index, as_links, label_positions
from agglomeration.metrics.io import leontief_inverse

__all__ = [
    "ExcessLinks",
    "chain_coverage",
    "chain_coverage_matrix",
    "complete_chains",
    "excess_intraregional_links",
    "local_sourcing_share",
    "sourcing_shares",
]


def _weights(links: pd.DataFrame, weight: str) -> np.ndarray:
    if weight == "value":
        return links["value"].to_numpy(dtype=float)
    if weight == "count":
        return np.ones(len(links))
    raise InputError(f"expected 'value' or 'count', got {weight!r}", field="weight")


def _domestic(links: pd.DataFrame) -> np.ndarray:
    return links["supplier"].to_numpy() != -1


def local_sourcing_share(
    links: Any,
    regions: Iterable[Any] | None = None,
    group: Iterable[Any] | None = None,
    weight: Literal["value", "count"] = "value",
) -> pd.Series | float:
    """Local sourcing share (PROJECT-DEFINED; simulated regional purchase coefficient).

    ::

        LSS_r = sum_{links j->k: region(j) = region(k) = r} value_jk / sum_{links j->k: region(k) = r} value_jk
        LSS_U = sum_{links: buyer and supplier region in U} value / sum_{links: buyer region in U} value

    Imports (supplier = -1) count in the denominator only.  Unit-free share in [0, 1].

    Parameters
    ----------
    links: ``model.links_frame()`` (or a mapping of its columns); needs supplier, buyer_region,
        supplier_region, value.
    regions: regions to report (default: every buyer region, sorted).  Regions without purchases
        get NaN.
    group: a set of regions U (e.g. the FTZ areas plus the connected innovation areas): return the
        single share LSS_U instead of the per-region Series.  NaN if U buys nothing.
    weight: ``"value"`` (purchase value) or ``"count"`` (number of links).
    """
    df = as_links(links, ["supplier", "buyer_region", "supplier_region", "value"])
    w = _weights(df, weight)
    dom = _domestic(df)
    br = df["buyer_region"].to_numpy()
    sr = df["supplier_region"].to_numpy()
    if group is not None:
        members = list(group)
        if not members:
            raise InputError("expected at least one region in the group", field="group")
        labels = pd.Index(members).unique()
        values = _purchase_matrix(labels, br, sr, dom, w)
        return sourcing_shares(values, group=np.ones(len(labels), dtype=bool))
    labels = (
        pd.Index(pd.unique(br)).dropna().sort_values()
    )  # the buyer regions, as groupby sorts them
    share = pd.Series(sourcing_shares(_purchase_matrix(labels, br, sr, dom, w)), index=labels)
    if regions is not None:
        share = share.reindex(list(regions))
    share.index.name = "region"
    share.name = "local_sourcing_share"
    return share


def _purchase_matrix(
    labels: pd.Index, br: np.ndarray, sr: np.ndarray, dom: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """(L, L + 1) sum of ``w`` by buyer region (rows: ``labels``) and source (columns: the domestic
    regions in ``labels``, then one column for every other source: imports and regions not in
    ``labels``).  Links whose buyer region is not in ``labels`` are left out."""
    L = len(labels)
    b = labels.get_indexer(br)
    src = np.where(dom, labels.get_indexer(sr), -1)
    src = np.where(src < 0, L, src)
    keep = b >= 0
    return np.bincount(
        b[keep] * (L + 1) + src[keep], weights=w[keep], minlength=L * (L + 1)
    ).reshape(L, L + 1)


def sourcing_shares(values: Any, group: Any = None) -> np.ndarray | float:
    """Local sourcing shares from a purchase matrix (the array form of :func:`local_sourcing_share`).

    ::

        LSS_r = values[r, r] / sum_j values[r, j]
        LSS_U = sum_{r in U, j in U} values[r, j] / sum_{r in U} sum_j values[r, j]

    Parameters
    ----------
    values: (R, M) purchase value (CNY m per step, or a number of links) by buyer region (rows) and
        source (columns); column j < R is domestic region j (same order as the rows), columns >= R
        are every other source (imports through gateways, other regions).  M >= R.
    group: (R,) boolean mask of the regions in U: return the single share LSS_U (NaN if U buys
        nothing) instead of the (R,) array of LSS_r (NaN for a region that buys nothing).
    Unit-free shares in [0, 1].  The model's observation calls this on its (regions x markets) link
    totals; :func:`local_sourcing_share` on the matrix it builds from a links frame.
    """
    v = as_array(values, "values", ndim=2, nonneg=True)
    R = v.shape[0]
    if v.shape[1] < R:
        raise InputError(
            f"expected at least as many source columns as buyer rows, got shape {v.shape}",
            field="values",
        )
    if group is None:
        den = v.sum(axis=1)
        num = np.diagonal(v[:, :R])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    g = np.asarray(group)
    if g.dtype != bool or g.shape != (R,):
        raise InputError(
            f"expected a boolean mask of shape ({R},), got {g.dtype} {g.shape}", field="group"
        )
    den = v[g].sum()
    return float(v[np.ix_(g, np.flatnonzero(g))].sum() / den) if den > 0 else np.nan


def _stage_positions(stages: Sequence[Any], table: Any, n_sectors: int, field: str) -> np.ndarray:
    labels = table.columns if isinstance(table, pd.DataFrame) else None
    if labels is not None and not all(s in labels for s in stages):
        labels = None  # fall back to integer positions
    return label_positions(np.asarray(list(stages)), labels, n_sectors, field)


def _chain_items(chain: Any) -> tuple[list[tuple[str, Sequence[Any]]], bool]:
    if isinstance(chain, Mapping):
        items = [(str(k), list(v)) for k, v in chain.items()]
        many = True
    else:
        items = [("chain", list(chain))]
        many = False
    for name, stages in items:
        if len(stages) == 0:
            raise InputError(
                "a chain needs at least one sector", field=f"chain.{name}" if many else "chain"
            )
    return items, many


def chain_coverage(
    firm_counts: Any,
    A: Any,
    chain: Sequence[Any] | Mapping[str, Sequence[Any]],
    requirements: Literal["total", "direct"] = "total",
    threshold: float = 0.0,
    min_firms: float = 1.0,
) -> np.ndarray | pd.Series | pd.DataFrame:
    """Coefficient-weighted chain coverage of each region (PROJECT-DEFINED).

    ::

        CC_r(t) = sum_{i in U(t)} w_it 1[n_ir >= min_firms] / sum_{i in U(t)} w_it

    t is the chain's final sector (last stage), U(t) the chain's other stages with w_it > threshold,
    and w = L = (I - A)^-1 (``requirements="total"``: direct and indirect requirements, so a stage
    two steps upstream still counts) or w = A (``"direct"``).  Share in [0, 1]: 1 means every
    upstream stage of the chain has a firm in the region.  Source: project-defined, built on the
    input-output coefficients and Leontief inverse of Miller & Blair (2009) ch. 2.

    Parameters
    ----------
    firm_counts: (R, S) firms (or output) per region x sector; a DataFrame keeps its region index.
    A: (S, S) technical coefficients, ``A[i, j]`` input i per unit of j.
    chain: sector stages (final sector last) as positions or firm_counts column labels, or a
        mapping name -> stages (World.chains) for a regions x chains DataFrame.
    Returns NaN for a chain with no upstream stage of positive weight.
    """
    n = as_array(firm_counts, "firm_counts", ndim=2, nonneg=True)
    a = as_array(A, "A", ndim=2, nonneg=True)
    if a.shape != (n.shape[1], n.shape[1]):
        raise InputError(
            f"expected an ({n.shape[1]}, {n.shape[1]}) matrix matching firm_counts sectors, got {a.shape}",
            field="A",
        )
    if requirements == "total":
        w_all = leontief_inverse(a)
    elif requirements == "direct":
        w_all = a
    else:
        raise InputError(
            f"expected 'total' or 'direct', got {requirements!r}", field="requirements"
        )
    items, many = _chain_items(chain)
    positions = [
        _stage_positions(stages, firm_counts, n.shape[1], f"chain.{name}" if many else "chain")
        for name, stages in items
    ]
    cov = chain_coverage_matrix(n, w_all, positions, threshold=threshold, min_firms=min_firms)
    out = {name: cov[:, c] for c, (name, _) in enumerate(items)}
    idx = firm_counts.index if isinstance(firm_counts, pd.DataFrame) else None
    if many:
        return pd.DataFrame(out, index=idx)
    res = out["chain"]
    return pd.Series(res, index=idx, name="chain_coverage") if idx is not None else res


def chain_coverage_matrix(
    firm_counts: Any,
    weights: Any,
    chains: Sequence[Sequence[int]],
    threshold: float = 0.0,
    min_firms: float = 1.0,
) -> np.ndarray:
    """Array form of :func:`chain_coverage`: (R, C) coverage of each region and chain.

    ``CC_r(t) = sum_{i in U(t)} w_it 1[n_ir >= min_firms] / sum_{i in U(t)} w_it`` (unit-free, in
    [0, 1]; NaN for a chain with no upstream stage of weight > threshold).

    Parameters
    ----------
    firm_counts: (R, S) firms (or output) per region x sector, a plain array.
    weights: (S, S) stage weights w, already computed: the Leontief inverse ``leontief_inverse(A)``
        (total requirements) or ``A`` (direct); ``weights[i, t]`` is the weight of stage i in a
        chain ending in t.  Passing them in lets a caller that evaluates the same IO table every
        step (the model's observation) invert it once.
    chains: C chains, each a sequence of integer sector positions, final sector last.
    """
    n = as_array(firm_counts, "firm_counts", ndim=2, nonneg=True)
    w_all = as_array(weights, "weights", ndim=2)
    if w_all.shape != (n.shape[1], n.shape[1]):
        raise InputError(
            f"expected an ({n.shape[1]}, {n.shape[1]}) matrix matching firm_counts sectors, got {w_all.shape}",
            field="weights",
        )
    present = n >= min_firms
    out = np.empty((n.shape[0], len(chains)))
    for c, stages in enumerate(chains):  # loop over chains (a handful), not firms
        pos = as_index(np.asarray(stages), f"chains[{c}]", n.shape[1])
        if len(pos) == 0:
            raise InputError("a chain needs at least one sector", field=f"chains[{c}]")
        t = pos[-1]
        up = np.unique(pos[pos != t])
        w = w_all[up, t]
        keep = w > threshold
        up, w = up[keep], w[keep]
        if w.sum() <= 0:
            out[:, c] = np.nan
        else:
            # at most 1: the matrix product and the sum may round differently (one ulp)
            out[:, c] = np.minimum(present[:, up].astype(float) @ w / w.sum(), 1.0)
    return out


def complete_chains(
    firm_counts: Any,
    chains: Sequence[Any] | Mapping[str, Sequence[Any]],
    group: Iterable[Any] | None = None,
    links: Any = None,
    buyer_sector: Any = None,
    min_firms: float = 1.0,
) -> pd.DataFrame | pd.Series:
    """Which chains are complete in each region, or in a network of regions (PROJECT-DEFINED).

    Presence: a chain is complete in region r if every stage has at least ``min_firms`` firms in r.
    With ``group`` (a set of regions U, e.g. FTZ + connected innovation areas) the firm counts of U
    are pooled.  With ``group`` and ``links`` the chain must also be *sourced inside the network*:
    for every consecutive stage pair (u, d) at least one domestic link has input_sector = u, a
    buyer of sector d, and buyer and supplier regions both in U.

    Parameters
    ----------
    firm_counts: (R, S) firms per region x sector (DataFrame or array; see module notes on labels).
    chains: stages (final last) or a mapping name -> stages (World.chains).
    group: regions of the network (labels of firm_counts' index, or positions for an array).
    links: ``model.links_frame()``; needs ``buyer_sector`` as a column or given separately as a
        mapping / Series / array from buyer firm id to sector.
    Returns a regions x chains bool DataFrame (no group) or a bool Series over chains (group).
    Count complete chains with ``.sum()``.
    """
    n = as_array(firm_counts, "firm_counts", ndim=2, nonneg=True)
    items, _ = _chain_items(chains)
    idx = firm_counts.index if isinstance(firm_counts, pd.DataFrame) else None
    positions = {
        name: _stage_positions(st, firm_counts, n.shape[1], f"chains.{name}") for name, st in items
    }
    if group is None:
        present = n >= min_firms
        return pd.DataFrame(
            {name: present[:, pos].all(axis=1) for name, pos in positions.items()}, index=idx
        )
    members = list(group)
    if not members:
        raise InputError("expected at least one region in the group", field="group")
    rows = label_positions(np.asarray(members), idx, n.shape[0], "group")
    pooled = n[rows].sum(axis=0) >= min_firms
    result = pd.Series(
        {name: bool(pooled[pos].all()) for name, pos in positions.items()}, dtype=bool
    )
    if links is None:
        return result
    df = as_links(links, ["buyer", "supplier", "buyer_region", "supplier_region", "input_sector"])
    if "buyer_sector" in df.columns:
        bsec = df["buyer_sector"].to_numpy()
    elif buyer_sector is not None:
        mapping = buyer_sector if isinstance(buyer_sector, pd.Series) else pd.Series(buyer_sector)
        bsec = df["buyer"].map(mapping).to_numpy()
        if pd.isna(bsec).any():
            raise InputError("some buyers have no sector in buyer_sector", field="buyer_sector")
    else:
        raise InputError(
            "links need a 'buyer_sector' column or the buyer_sector argument", field="buyer_sector"
        )
    inside = (
        _domestic(df)
        & (pd.Index(members).get_indexer(df["buyer_region"].to_numpy()) >= 0)
        & (pd.Index(members).get_indexer(df["supplier_region"].to_numpy()) >= 0)
    )
    pairs = set(zip(df["input_sector"].to_numpy()[inside].tolist(), bsec[inside].tolist()))
    for name, stages in items:
        if result[name]:
            result[name] = all((u, d) in pairs for u, d in pairwise(stages))
    return result


@dataclass(frozen=True)
class ExcessLinks:
    """Observed vs null intra-regional link share (see :func:`excess_intraregional_links`)."""

    observed: float
    expected: float
    excess: float
    normalised: float
    z: float
    p_value: float
    n_links: int


def excess_intraregional_links(
    links: Any,
    capacity: Any,
    weight: Literal["count", "value"] = "count",
) -> ExcessLinks:
    """Intra-regional share of domestic supplier links against a random-location null
    (PROJECT-DEFINED; mirrors the dartboard logic of Ellison & Glaeser 1997, JPE 105(5)).

    Null: the supplier of a link buying sector-k input for a buyer in region r is drawn across
    regions in proportion to sector-k capacity, regardless of location, so the link is intra-regional
    with probability ``p_l = c_rk / sum_q c_qk``.

    ::

        observed   O = sum_l w_l 1[supplier_region = buyer_region]      (w_l = 1/n or value share)
        expected   E = sum_l w_l p_l
        excess     O - E;   normalised (O - E) / (1 - E)  (0 under the null, 1 all links local)
        z = (O - E) / sqrt(sum_l w_l^2 p_l (1 - p_l)),  p_value = 1 - Phi(z)  (links independent)

    Parameters
    ----------
    links: ``model.links_frame()``; imports (supplier = -1) are excluded.
    capacity: (R, S) supplier capacity per region x sector (firm counts, employment or output).
        A DataFrame maps links' buyer_region / input_sector by its index / columns; an array
        expects integer positions.
    weight: ``"count"`` (each link counts once) or ``"value"`` (purchase value).
    All fields NaN (n_links 0) when there are no domestic links.
    """
    df = as_links(links, ["supplier", "buyer_region", "supplier_region", "input_sector", "value"])
    cap = as_array(capacity, "capacity", ndim=2, nonneg=True)
    dom = _domestic(df)
    df = df.loc[dom]
    w = _weights(df, weight)
    if len(df) == 0 or w.sum() <= 0:
        return ExcessLinks(np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, 0)
    rlab = capacity.index if isinstance(capacity, pd.DataFrame) else None
    clab = capacity.columns if isinstance(capacity, pd.DataFrame) else None
    r = label_positions(df["buyer_region"].to_numpy(), rlab, cap.shape[0], "links.buyer_region")
    k = label_positions(df["input_sector"].to_numpy(), clab, cap.shape[1], "links.input_sector")
    col = cap.sum(axis=0)
    if np.any(col[k] <= 0):
        raise InputError(
            "a link buys a sector with zero capacity in every region", field="capacity"
        )
    p = cap[r, k] / col[k]
    w = w / w.sum()
    intra = (df["supplier_region"].to_numpy() == df["buyer_region"].to_numpy()).astype(float)
    obs = float(w @ intra)
    exp = float(w @ p)
    var = float(np.sum(w**2 * p * (1 - p)))
    z = (obs - exp) / np.sqrt(var) if var > 0 else np.nan
    norm = (obs - exp) / (1 - exp) if exp < 1 else np.nan
    from scipy import stats  # here, not at import: scipy.stats costs ~0.4 s at start-up

    return ExcessLinks(
        obs,
        exp,
        obs - exp,
        float(norm),
        float(z),
        float(stats.norm.sf(z)) if np.isfinite(z) else np.nan,
        len(df),
    )
