"""What a calibration writes: tables (CSV + Markdown), figures (PNG) and the calibrated scenario.

- ``parameters.csv/.md`` estimates, standard errors, 95% intervals, identification status;
- ``moments.csv/.md`` the moment-fit table (target, simulated mean with 95% CI, t-statistic, source);
- ``identification.csv/.md`` how far each moment moves across each parameter's sweep (target SEs);
- ``trials.csv`` every candidate (parameters, distance, simulated moments), ``sweeps.csv`` the sweeps;
- ``figures/convergence.png`` and ``figures/profiles.png``;
- ``calibrated_scenario.toml`` the base scenario (``extends``) with the fixed overrides and estimates.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator, NullFormatter

from agglomeration.calibration.targets import Targets
from agglomeration.errors import InputError
from agglomeration.report.style import STYLE, save
from agglomeration.report.tables import to_markdown

__all__ = [
    "convergence_figure",
    "posterior_figure",
    "profile_figure",
    "write_scenario",
    "write_table",
]


def write_table(df: pd.DataFrame, directory: Path, stem: str, title: str, note: str = "") -> None:
    """``stem.csv`` (full precision) and ``stem.md`` (a titled pipe table)."""
    df.to_csv(directory / f"{stem}.csv", index=False)
    text = f"# {title}\n\n{to_markdown(df)}"
    if note:
        text += f"\n{note}\n"
    (directory / f"{stem}.md").write_text(text, encoding="utf-8")


def convergence_figure(trials: pd.DataFrame, replicates: int, start_value: float | None) -> Figure:
    """Distance of every candidate against model runs used, with the best so far and the distance of
    the best candidates on fresh seeds (the re-evaluation that chooses the optimum)."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(6.5, 3.6))
        ax = fig.subplots()
        d = trials.sort_values("trial")
        x = (d["trial"].to_numpy() + 1) * replicates
        y = d["distance"].to_numpy(dtype=float)
        ax.scatter(x, y, s=10, color="#8c8c8c", label="candidate", zorder=2)
        ax.plot(x, np.fmin.accumulate(y), color="#D55E00", lw=1.8, label="best so far", zorder=3)
        if "distance_fresh_seeds" in d:
            fresh = d["distance_fresh_seeds"].to_numpy(dtype=float)
            ok = np.isfinite(fresh)
            ax.scatter(
                x[ok], fresh[ok], marker="x", s=28, color="#0072B2", zorder=4,
                label="best candidates re-run on fresh seeds",
            )  # fmt: skip
        if start_value is not None and math.isfinite(start_value):
            ax.axhline(start_value, color="#0072B2", ls="--", lw=1, label="start point")
        if np.all(y[np.isfinite(y)] > 0):
            ax.set_yscale("log")
        ax.set_xlabel(f"model runs of the search ({replicates} per candidate)")
        ax.set_ylabel("distance J (sum of squared t-statistics)")
        ax.set_title("Convergence of the search")
        ax.legend(frameon=False)
        return fig


def profile_figure(targets: Targets, sweeps: pd.DataFrame, params: pd.DataFrame) -> Figure:
    """One column per parameter: top, the distance along its sweep (others at the optimum); bottom,
    every moment's deviation from its target in target standard errors, with the 95% interval of the
    estimate shaded."""
    names = list(targets.parameters)
    n = len(names)
    ncol = min(n, 3)
    nrow = math.ceil(n / ncol)
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(3.0 * ncol + 1.6, 4.6 * nrow))
        grid = fig.add_gridspec(2 * nrow, ncol)
        cmap = matplotlib.colormaps["tab10" if len(targets.moments) <= 10 else "tab20"]
        colours = {m.name: cmap(i % cmap.N) for i, m in enumerate(targets.moments)}
        first_bottom = None
        for i, path in enumerate(names):
            r, c = 2 * (i // ncol), i % ncol
            top = fig.add_subplot(grid[r, c])
            bottom = fig.add_subplot(grid[r + 1, c], sharex=top)  # one parameter per pair of panels
            first_bottom = first_bottom or bottom
            d = sweeps[sweeps["parameter"] == path]
            z = d.assign(
                z=(d["mean"] - d["observed"])
                / np.sqrt(d["target_se"] ** 2 + d["sd"].fillna(0) ** 2 / d["n"])
            )
            dist = z.groupby("value")["z"].apply(lambda s: float((s**2).sum()))
            top.plot(dist.index, dist.to_numpy(), marker="o", ms=3, color="#3b3b3b")
            for m in targets.moments:
                zm = z[z["moment"] == m.name]
                bottom.plot(
                    zm["value"], zm["z"], marker=".", lw=1.2, color=colours[m.name], label=m.name
                )
            bottom.axhspan(-1.96, 1.96, color="0.92", zorder=0)
            row = params.set_index("parameter").loc[path]
            for ax in (top, bottom):
                ax.axvline(row["estimate"], color="#D55E00", lw=1)
                if math.isfinite(row["se"]):
                    ax.axvspan(row["ci_low"], row["ci_high"], color="#D55E00", alpha=0.12, lw=0)
            lo, hi = float(d["value"].min()), float(d["value"].max())
            pad = 0.06 * (hi - lo) if hi > lo else 0.5
            top.set_xlim(lo - pad, hi + pad)  # the sweep; the interval may reach beyond it
            top.tick_params(labelbottom=False)
            top.set_title(path, fontsize=8.5)
            top.set_ylabel("distance J")
            bottom.set_ylabel("(simulated - target) / SE")
            bottom.set_xlabel(f"{path.rsplit('.', 1)[-1]} (others at the optimum)")
        handles, labels = first_bottom.get_legend_handles_labels()
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles += [
            Line2D([], [], color="#D55E00", lw=1),
            Patch(facecolor="#D55E00", alpha=0.12),
            Patch(facecolor="0.92"),
        ]
        labels += ["estimate", "its 95 % interval", "|deviation| < 1.96 SE"]
        fig.legend(
            handles,
            labels,
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
            frameon=False,
            title="moment / key",
        )
        fig.suptitle("Identification: the distance and each moment along one-at-a-time sweeps")
        fig.tight_layout()
        return fig


def posterior_figure(
    targets: Targets, particles: pd.DataFrame, params: pd.DataFrame, generations: pd.DataFrame
) -> Figure:
    """ABC-SMC: the weighted posterior of each parameter (the last generation) over its prior range,
    with the median and the 95% interval, and the tolerance and acceptance rate by generation."""
    names = list(targets.parameters)
    n = len(names) + 1
    ncol = min(n, 3)
    nrow = math.ceil(n / ncol)
    last = particles[particles["generation"] == particles["generation"].max()]
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(3.2 * ncol, 2.7 * nrow))
        axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
        for ax, path in zip(axes, names, strict=False):
            p = targets.parameters[path]
            lo, hi = p.bounds
            log = p.prior == "lognormal"
            bins = np.geomspace(lo, hi, 21) if log else np.linspace(lo, hi, 21)
            if p.integer:
                bins = np.arange(math.ceil(lo) - 0.5, math.floor(hi) + 1.0)
            ax.hist(last[path], bins=bins, weights=last["weight"], color="#8c8c8c", density=True)
            row = params.set_index("parameter").loc[path]
            ax.axvline(row["estimate"], color="#D55E00", lw=1.4, label="median")
            ax.axvspan(row["ci_low"], row["ci_high"], color="#D55E00", alpha=0.12, lw=0,
                       label="95% interval")  # fmt: skip
            if log:
                ax.set_xscale("log")
                _plain_log_ticks(ax.xaxis)
            ax.set_xlim(bins[0], bins[-1])
            ax.set_title(path, fontsize=8.5)
            ax.set_yticks([])
            ax.set_xlabel("value (x axis = the prior's range)")
        ax = axes[len(names)]
        g = generations[generations["generation"] > 0]
        ax.plot(g["generation"], g["epsilon"], marker="o", color="#3b3b3b", label="tolerance")
        ax.set_ylim(0, None)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("generation")
        ax.set_ylabel("tolerance (distance)")
        twin = ax.twinx()
        twin.plot(g["generation"], g["acceptance_rate"], marker="s", color="#0072B2",
                  label="acceptance rate")  # fmt: skip
        twin.set_ylabel("acceptance rate", color="#0072B2")
        twin.set_ylim(0, 1.05)
        ax.set_title("ABC-SMC generations", fontsize=8.5)
        for extra in axes[len(names) + 1 :]:
            extra.set_visible(False)
        axes[0].legend(frameon=False, fontsize=7)
        fig.suptitle(f"Posterior (ABC-SMC, {len(last)} particles of the last generation)")
        fig.tight_layout()
        return fig


def _plain_log_ticks(axis: Any) -> None:
    """Plain numbers at a few ticks of a log axis (no overlapping minor labels like 3x10^0)."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=8))
    axis.set_major_formatter(FormatStrFormatter("%g"))
    axis.set_minor_formatter(NullFormatter())


def save_png(fig: Figure, directory: Path, stem: str) -> Path:
    """``directory/stem.png``."""
    return save(fig, directory, stem, formats=("png",), dpi=150)[0]


# ------------------------------------------------------------------------------------------------
# the calibrated scenario
# ------------------------------------------------------------------------------------------------
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise InputError(f"cannot write {v!r} to a scenario file", field="overrides")


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else _toml_value(k)


def scenario_text(targets: Targets, values: dict[str, Any], path: Path, header: str) -> str:
    """The calibrated scenario: ``extends`` the base (relative to ``path``), sets the fixed overrides
    and the estimates as nested tables."""
    tables: dict[tuple[str, ...], dict[str, Any]] = {}
    values = {  # integer parameters are written as integers
        k: round(v) if k in targets.parameters and targets.parameters[k].integer else v
        for k, v in values.items()
    }
    merged = {**targets.overrides, **values}
    top: dict[str, Any] = {}
    for dotted, v in merged.items():
        parts = dotted.split(".")
        if len(parts) == 1:
            top[parts[0]] = v
        else:
            tables.setdefault(tuple(parts[:-1]), {})[parts[-1]] = v
    rel = os.path.relpath(targets.scenario, start=path.parent.resolve())
    if Path(rel).parts[:3] == ("..", "..", ".."):  # far away: an absolute path is clearer
        rel = str(Path(targets.scenario).resolve())
    first = header.splitlines()[0]
    lines = [f"# {first}" if f"# {first}".startswith(MARK) else f"{MARK}`: {first}"]
    lines += [*(f"# {h}" if h else "#" for h in header.splitlines()[1:]), ""]
    lines += [
        f"name = {_toml_value(targets.name)}",
        f"extends = {_toml_value(Path(rel).as_posix())}",
    ]
    if targets.steps is not None:
        lines.append(
            f"steps = {int(targets.steps)}  # the run length the moments were matched over"
        )
    lines += [f"{_key(k)} = {_toml_value(v)}" for k, v in top.items()]
    for table in sorted(tables):
        lines += ["", f"[{'.'.join(_key(p) for p in table)}]"]
        lines += [f"{_key(k)} = {_toml_value(v)}" for k, v in tables[table].items()]
    return "\n".join(lines) + "\n"


#: start of the first line of every scenario file this module writes (then "`" for msm, " --method
#: abc`" for abc)
MARK = "# Calibrated by `agglomeration calibrate"


def check_scenario_out(path: Path) -> None:
    """``--scenario-out`` may be a new file or one written by a calibration (never another file)."""
    try:
        if path.is_dir():
            raise InputError(
                "expected a file path, got a directory", file=str(path), field="--scenario-out"
            )
        if path.exists() and not path.read_text(encoding="utf-8").startswith(MARK):
            raise InputError(
                "the file exists and was not written by a calibration; refusing to overwrite it",
                file=str(path),
                field="--scenario-out",
            )
        if not path.parent.is_dir():
            raise InputError("its directory does not exist", file=str(path), field="--scenario-out")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot use this path: {exc}", file=str(path), field="--scenario-out"
        ) from None


def write_scenario(targets: Targets, values: dict[str, Any], path: Path, header: str) -> Path:
    """Write the calibrated scenario and check that it loads with exactly these values."""
    from agglomeration.scenario import load_scenario

    path.write_text(scenario_text(targets, values, path, header), encoding="utf-8")
    scen = load_scenario(path)
    extra = {"steps": int(targets.steps)} if targets.steps is not None else {}
    base = load_scenario(targets.scenario).with_overrides({**targets.overrides, **values, **extra})
    if scen.with_overrides({"name": base.name}).fingerprint() != base.fingerprint():
        raise RuntimeError(
            f"{path}: the written scenario does not resolve to the calibrated values"
        )
    return path
