"""Creation vs reallocation: where a variant's extra firms in a group of regions come from.

For two variants run with common random numbers (the same seeds), the change in the number of live
firms of a region group G (a region type, or the zone network ``zone`` = FTZ + connected areas) at the
end of the run is split, run pair by run pair, into

- ``start``: the difference of the group's firms when the observed run started (0 when the variants
  share their settled start, ``reference``);
- ``creation``: extra entry into G that is not matched by fewer entries elsewhere (new firms);
- ``diversion``: extra entry into G matched by fewer entries into the other regions (entrants that
  would have gone elsewhere); negative when G loses entrants to the other regions;
- ``relocation``: the change of net relocations into G from regions outside it (moves within G cancel);
- ``survival``: fewer exits from G (minus the change in exits);
- ``total``: the change of G's firms, the sum of the five.

With dE_G, dE_O the paired differences of entries into G and into the other regions, diversion =
sign(dE_G) min(|dE_G|, |dE_O|) when dE_G and dE_O have opposite signs, else 0; creation = dE_G -
diversion.  Each run satisfies exactly firms_G = firms_start_G + entries_G - exits_G + relocations
in_G - relocations out_G (observe.demography_by_type), so the components add up to the total pair by
pair.  The table gives, per variant, group and component, the mean over pairs and its 95 % t
interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from agglomeration.errors import InputError
from agglomeration.experiment.compare import successful_runs
from agglomeration.region_types import REGION_TYPES, ZONE_TYPES

#: the components, in table order (they sum to ``total``)
COMPONENTS: tuple[str, ...] = ("start", "creation", "diversion", "relocation", "survival")
#: region groups: each region type, and the zone network
GROUPS: dict[str, tuple[str, ...]] = {**{t: (t,) for t in REGION_TYPES}, "zone": ZONE_TYPES}
#: per-type run totals the decomposition needs (observe.demography_by_type)
STEMS = (
    "firms",
    "firms_start",
    "entries_total",
    "exits_total",
    "relocations_in",
    "relocations_out",
)


def available(runs: pd.DataFrame) -> bool:
    """True when ``runs`` carries the per-type run totals and seeds (a batch of this version)."""
    need = {f"{stem}_{t}" for stem in STEMS for t in REGION_TYPES} | {"variant", "seed"}
    return need.issubset(runs.columns)


def _group_totals(runs: pd.DataFrame, types: Sequence[str]) -> pd.DataFrame:
    """Per run: the group's firms, start, entries, exits and net relocations in from outside it."""
    out = pd.DataFrame(index=runs.index)
    for stem in ("firms", "firms_start", "entries_total", "exits_total"):
        out[stem] = sum(runs[f"{stem}_{t}"] for t in types)
    inside = set(types)
    # moves between two types of the group are in one type's 'out' and the other's 'in': they cancel
    out["relocation"] = sum(
        runs[f"relocations_in_{t}"] - runs[f"relocations_out_{t}"] for t in inside
    )
    others = [t for t in REGION_TYPES if t not in inside]
    out["entries_other"] = sum((runs[f"entries_total_{t}"] for t in others), 0.0)
    return out


def run_identity_gap(runs: pd.DataFrame) -> pd.Series:
    """Per run, the largest |firms - (start + entries - exits + relocations in - out)| over the region
    types (0 when the accounting identity holds)."""
    gaps = [
        (
            runs[f"firms_{t}"]
            - runs[f"firms_start_{t}"]
            - runs[f"entries_total_{t}"]
            + runs[f"exits_total_{t}"]
            - runs[f"relocations_in_{t}"]
            + runs[f"relocations_out_{t}"]
        ).abs()
        for t in REGION_TYPES
    ]
    return pd.concat(gaps, axis=1).max(axis=1)


def paired_components(variant: pd.DataFrame, base: pd.DataFrame, group: str) -> pd.DataFrame:
    """Per seed shared by ``variant`` and ``base`` (runs tables of one variant each): the components
    of the change of ``group``'s firms (columns COMPONENTS + ``total``)."""
    types = GROUPS[group]
    a = _group_totals(variant, types).set_index(variant["seed"].to_numpy())
    b = _group_totals(base, types).set_index(base["seed"].to_numpy())
    seeds = a.index.intersection(b.index)
    d = a.loc[seeds] - b.loc[seeds]
    de_g, de_o = d["entries_total"], d["entries_other"]
    opposite = np.sign(de_g) * np.sign(de_o) < 0
    diversion = np.where(opposite, np.sign(de_g) * np.minimum(de_g.abs(), de_o.abs()), 0.0)
    out = pd.DataFrame(
        {
            "start": d["firms_start"],
            "creation": de_g - diversion,
            "diversion": diversion,
            "relocation": d["relocation"],
            "survival": -d["exits_total"],
            "total": d["firms"],
        },
        index=seeds,
    )
    out.index.name = "seed"
    return out


def _ci(x: np.ndarray, confidence: float) -> tuple[float, float, float]:
    n = len(x)
    mean = float(np.mean(x)) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * np.std(x, ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def decompose(
    runs: pd.DataFrame,
    *,
    baseline: str,
    groups: Sequence[str] = ("ftz", "connected", "zone", "other"),
    confidence: float = 0.95,
    source: str = "runs",
) -> pd.DataFrame:
    """The creation-vs-reallocation table: one row per variant (other than ``baseline``), group and
    component, with ``n`` pairs, ``mean`` [firms] and its ``ci_low``/``ci_high``.  Only successful
    runs count; runs are paired by seed.  :class:`InputError` when the runs lack the per-type totals
    (a batch of an earlier version), a group is unknown or no variant shares a seed with the
    baseline."""
    if not available(runs):
        raise InputError(
            "the runs lack the per-region-type run totals (entries_total_<type>, exits_total_<type>, "
            "relocations_in/out_<type>, firms_start_<type>) and seeds; rerun the batch with this "
            "version",
            file=source,
            field="runs",
        )
    for g in groups:
        if g not in GROUPS:
            raise InputError(
                f"unknown region group {g!r} (allowed: {', '.join(GROUPS)})",
                file=source,
                field="groups",
            )
    ok = successful_runs(runs)
    ok = ok.assign(variant=ok["variant"].astype(str))
    base = ok[ok["variant"] == baseline]
    rows = []
    # a group without regions in the scenario (no firms, entries or exits in any run) is left out
    present = [g for g in groups if _group_totals(ok, GROUPS[g]).abs().to_numpy().sum() > 0]
    for variant in pd.unique(ok["variant"]):
        if variant == baseline:
            continue
        for g in present:
            comp = paired_components(ok[ok["variant"] == variant], base, g)
            for name in (*COMPONENTS, "total"):
                mean, lo, hi = _ci(comp[name].to_numpy(float), confidence)
                rows.append(
                    {
                        "variant": variant,
                        "group": g,
                        "component": name,
                        "n": len(comp),
                        "mean": mean,
                        "ci_low": lo,
                        "ci_high": hi,
                    }
                )
    table = pd.DataFrame(
        rows, columns=["variant", "group", "component", "n", "mean", "ci_low", "ci_high"]
    )
    if len(table) and (table["n"] == 0).all():
        raise InputError(
            f"no run of another variant shares a seed with '{baseline}': the decomposition needs "
            "paired runs (common random numbers)",
            file=source,
            field="seed",
        )
    return table


#: how a component that is zero by construction is shown (with :data:`BY_CONSTRUCTION_NOTE`)
BY_CONSTRUCTION = "0 (by construction)"
#: the footnote of :data:`BY_CONSTRUCTION` when the variants share their settled start
BY_CONSTRUCTION_NOTE = (
    "start = 0 by construction: the runs continue one shared settled start, so every pair starts "
    "with the same firms (not an estimate)"
)


def zero_by_construction(table: pd.DataFrame, shared_start: bool) -> set[str]:
    """The components that are zero by construction: ``start`` when the runs continue a shared settled
    start (the batch manifest's ``start == "shared"``) and it is 0 in every row of ``table``."""
    if not shared_start or not len(table):
        return set()
    start = table.loc[table["component"] == "start", ["mean", "ci_low", "ci_high"]]
    return {"start"} if len(start) and (start.fillna(0).to_numpy() == 0).all() else set()


def wide(table: pd.DataFrame, by_construction: Sequence[str] | set[str] = ()) -> pd.DataFrame:
    """The decomposition as text: one row per variant and group, one column per component, each
    'mean [ci_low, ci_high]' in firms, rounded as every estimate of the reports (two significant digits
    of the interval's half-width, ``report.numbers.format_estimate``; the unrounded values add up to the
    total exactly, the rounded ones approximately).  The components in ``by_construction`` (see
    :func:`zero_by_construction`) read :data:`BY_CONSTRUCTION`, not '0 [0, 0]', which would read as a
    precise estimate."""
    from agglomeration.report.numbers import format_estimate

    def cell(r) -> str:
        if r["component"] in by_construction and r["mean"] == 0:
            return BY_CONSTRUCTION
        return format_estimate(r["mean"], r["ci_low"], r["ci_high"], sign=True)

    t = table.assign(cell=table.apply(cell, axis=1))
    out = t.pivot_table(
        index=["variant", "group"], columns="component", values="cell", aggfunc="first", sort=False
    )
    out = out[[c for c in ("total", *COMPONENTS) if c in out.columns]].reset_index()
    n = table.groupby(["variant", "group"], sort=False)["n"].first().to_numpy()
    out.insert(2, "pairs", n)
    return out
