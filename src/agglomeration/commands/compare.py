"""Compare the variants of a finished batch against a baseline variant, with proper statistics.

For each variant and metric: n, mean and 95% confidence interval (shares in percent, with a logit-scale
interval that stays inside 0-100%; --bootstrap N adds a bootstrap interval).  Against the baseline: the
difference and its 95% CI (shares in percentage points); paired t and Wilcoxon signed-rank tests when
the replicates share seeds (common random numbers), Welch t and Mann-Whitney U otherwise; effect sizes
(d_z when paired, else Cohen's d; NA when the differences do not vary; Cliff's delta); Holm-adjusted p
values over the chosen metrics (--metrics: the Holm family; default the primary metrics, 'all' for every
metric that varies).  Metrics that take one value in every run are listed once and left out.  A variant
whose runs are the baseline's seed by seed (the same resolved scenario, or equal in every metric) is
said to be identical in one line; when every variant is, that line replaces the table of zeros.
--factorial adds main effects, interactions (difference-in-differences) and an ANOVA for a grid design.
--precision P adds replication advice: the replicates needed for a CI half-width of P x |mean|
(relative, the default) or P in the metric's unit (--absolute; a share's unit is 1, so 0.01 is one
percentage point although the table prints shares in percent).

A batch whose planned runs have not all finished is refused (exit 2) unless --partial is given; then
the output starts with a PARTIAL RESULTS warning.  --out FILE writes the publication table (labelled
metrics with units; LaTeX with booktabs, caption and label; numbers in csv, parquet and xlsx) and the
long tables next to it (FILE_comparisons, FILE_summary, FILE_advice, and FILE_effects, FILE_anova,
FILE_cells with --factorial; one sheet each for .xlsx).  The creation-vs-reallocation decomposition of
each region group's change in firms (extra entry, diversion from other regions, net relocation, fewer
exits; paired by seed; the points of a grid design are conditions) follows the table and is written
to FILE_decomposition (a one-line note says why when it cannot be computed).  --table-csv FILE writes the per-step series in
the BehaviorSpace "table" layout.  See docs/ANALYSIS.md.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from agglomeration.errors import InputError, describe_os_error

#: Most bootstrap resamples (kept in step with agglomeration.experiment.compare.MAX_BOOTSTRAP, which
#: is not imported here so that `--help` stays fast).
MAX_BOOTSTRAP = 100_000
#: Replicate counts above this are shown as "> N" (agglomeration.experiment.compare.MAX_REPLICATES_ADVICE).
MAX_REPLICATES = 10**9


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``agglomeration compare``."""
    parser.add_argument("results", help="result directory written by `agglomeration batch`")
    parser.add_argument(
        "--baseline", help="reference variant (default: 'baseline', else the first)"
    )
    parser.add_argument(
        "--metrics",
        nargs="+",
        metavar="METRIC",
        help="the metrics to test, i.e. the Holm family (default: the primary metrics; 'all' = every "
        "metric that varies)",
    )
    parser.add_argument(
        "--at-step",
        type=int,
        metavar="T",
        help="compare the series at step T, not the final metrics",
    )
    parser.add_argument(
        "--precision",
        type=float,
        metavar="P",
        help="requested CI half-width for the replication advice (relative to |mean|, e.g. 0.01)",
    )
    parser.add_argument(
        "--absolute",
        action="store_true",
        help="--precision is in the metric's unit, not relative (shares: 0.01 = one percentage point)",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="N",
        help=f"bootstrap resamples for a CI (0 = none; at most {MAX_BOOTSTRAP:,})",
    )
    parser.add_argument(
        "--unpaired", action="store_true", help="never pair runs by seed (Welch / Mann-Whitney)"
    )
    parser.add_argument(
        "--factorial",
        action="store_true",
        help="factorial analysis of a grid design (or of variants that form a factorial): main "
        "effects, interactions (difference-in-differences) and an ANOVA table",
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        help="analyse an unfinished batch (only its finished runs; refused without this option)",
    )
    parser.add_argument("--format", choices=("csv", "parquet", "xlsx", "md", "tex"))
    parser.add_argument(
        "--out", help="write the tables to this file (format from --format or suffix)"
    )
    parser.add_argument("--caption", help="LaTeX/Markdown caption (default: generated)")
    parser.add_argument("--label", help="LaTeX label (default: tab:<file stem>)")
    parser.add_argument("--table-csv", metavar="FILE", help="write the BehaviorSpace-layout CSV")


def check_out_path(path: str | Path | None, field: str, *, directory: bool = False) -> None:
    """Refuse an output path that cannot be used, *before* anything is computed or written.

    A file output must not be an existing directory; a directory output must not be an existing
    file; and the nearest existing ancestor must be a directory (else nothing can be created there).
    A place the system refuses to create anything in is reported when writing (:func:`writing`).
    """
    if not path:
        return
    p = Path(path)
    if p.exists() and p.is_dir() != directory:
        want, got = ("a directory", "an existing file") if directory else ("a file", "a directory")
        raise InputError(f"expected {want}, got {got}", file=str(p), field=field)
    ancestor = next((a for a in p.parents if a.exists()), None)
    if ancestor is not None and not ancestor.is_dir():
        raise InputError(f"{ancestor} is a file, not a directory", file=str(p), field=field)


def check_table_out(out: str | Path | None, fmt: str | None) -> None:
    """``--out FILE`` / ``--format`` of a table export, refused before any analysis runs: a format
    without a file, an unusable path, a format the file's suffix contradicts, or a format whose
    library is not installed (xlsx without openpyxl)."""
    if fmt and not out:
        raise InputError("--format needs --out FILE", field="--format")
    check_out_path(out, "--out")
    if out:
        from agglomeration.report.tables import _need_openpyxl, format_from_path

        if format_from_path(out, fmt) == "xlsx":
            _need_openpyxl(Path(out))


@contextmanager
def writing(path: str | Path, field: str) -> Iterator[None]:
    """Writes to an output that cannot be written (a read-only or virtual file system, no
    permission, a full disk) fail as an InputError naming the option and the path (exit 2), not as
    an internal error."""
    try:
        yield
    except OSError as exc:
        raise InputError(
            f"cannot write here: {describe_os_error(exc)}", file=str(path), field=field
        ) from None


def open_results(path: str | Path, *, purpose: str = "this command", allow_run: bool = False):
    """``load_results(path)`` with a clear InputError for a missing directory and, unless
    ``allow_run``, for a single-run directory (from ``agglomeration run``)."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such directory", file=p, field="RESULTS")
    single = InputError(
        f"this is a single-run directory (from `agglomeration run`); {purpose} needs a batch "
        "result directory (from `agglomeration batch`)",
        file=p,
        field="RESULTS",
    )
    if p.is_dir() and (p / "timeseries.csv").exists() and not (p / "manifest.json").exists():
        raise single
    from agglomeration.experiment.store import load_results

    results = load_results(p)
    if not allow_run and results.manifest.get("kind") == "run":
        raise single
    return results


def parameter_columns(results: Mapping) -> list[str]:
    """Design-parameter names recorded in a result store's manifest."""
    from agglomeration.experiment.compare import parameter_columns_from_manifest

    return parameter_columns_from_manifest(getattr(results, "manifest", None))


def finished_runs(results: Mapping) -> tuple[int, int] | None:
    """(finished, planned) runs of a result store, or None when it records no plan.

    A run is finished when it has a runs row with status ok or failed (not interrupted); the plan lists every run the
    experiment asks for."""
    if "plan" not in results:
        return None
    plan = results["plan"]
    if plan is None or plan.empty or "run_id" not in plan.columns:
        return None
    planned = set(plan["run_id"].astype(str))
    runs = results["runs"]
    # an interrupted run has a runs row but is not finished (a resume redoes it)
    if "status" in runs.columns:
        runs = runs.loc[runs["status"].astype("string").str.lower().fillna("") != "interrupted"]
    done = set(runs["run_id"].astype(str)) & planned if "run_id" in runs.columns else set()
    return len(done), len(planned)


def require_finished(results: Mapping, path: str | Path, partial: bool) -> str | None:
    """Refuse (InputError, exit 2) a batch whose planned runs have not all finished, unless ``partial``;
    then return the warning to print prominently (None for a finished batch)."""
    counts = finished_runs(results)
    if counts is None or counts[0] >= counts[1]:
        return None
    done, planned = counts
    manifest = getattr(results, "manifest", None) or {}
    status = manifest.get("status", "unknown")
    if not partial:
        raise InputError(
            f"the batch is not finished: {done} of {planned} planned runs are done (manifest status "
            f"{status!r}). Wait for it to finish, resume it ({resume_hint(manifest, path)}), or pass "
            "--partial to analyse the finished runs only",
            file=str(path),
            field="runs",
        )
    return (
        f"PARTIAL RESULTS: only {done} of {planned} planned runs are finished (manifest status "
        f"{status!r}); estimates use the finished runs only"
    )


def check_reference_has_runs(
    runs, manifest: Mapping | None, baseline: str | None, path: str | Path
) -> None:
    """The reference variant (``baseline``, else the experiment's 'baseline' or first variant) must
    have runs in the store: in a shard or an unfinished batch (--partial) it may have none, and the
    comparison then silently took another variant as the reference (or called it unknown)."""
    declared = [
        str(v.get("name"))
        for v in ((manifest or {}).get("experiment") or {}).get("variants") or []
        if isinstance(v, Mapping) and v.get("name") is not None
    ]
    present = set(runs["variant"].astype(str))
    reference = baseline
    if reference is None and declared:
        reference = "baseline" if "baseline" in declared else declared[0]
    if reference is not None and reference in declared and reference not in present:
        raise InputError(
            f"the reference variant {reference!r} has no runs in this result directory yet (a "
            "shard, or a batch not finished): finish the batch, or compare with --baseline one of "
            f"the variants that have runs: {', '.join(sorted(present))}",
            file=str(path),
            field="--baseline" if baseline is not None else "variants",
        )


def resume_hint(manifest: Mapping | None, path: str | Path) -> str:
    """The command that resumes the batch in ``path``, rebuilt from its manifest (the experiment file
    and the options it was run with), as the batch itself prints it when stopped."""
    from agglomeration import MODEL_REVISION
    from agglomeration.commands.batch import resume_command_from_manifest
    from agglomeration.experiment.store import stored_model_revision

    stored = stored_model_revision(dict(manifest or {}))
    if stored != MODEL_REVISION:
        return (
            f"not with this package: the runs are of model revision {stored}, it computes revision "
            f"{MODEL_REVISION}; rerun the experiment into a new --out, or use the package at the "
            "manifest's environment.git_revision"
        )
    return resume_command_from_manifest(manifest, path)


def failed_runs_note(runs, path: str | Path, manifest: Mapping | None = None) -> str | None:
    """A warning naming the runs that failed (they are left out of every estimate), or None."""
    from agglomeration.experiment.compare import failed_runs

    bad = failed_runs(runs)
    if bad.empty:
        return None
    which = ", ".join(
        f"{r.variant} replicate {r.replicate}" if "replicate" in bad.columns else str(r.variant)
        for r in bad.head(5).itertuples()
    )
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    return (
        f"{len(bad)} run(s) FAILED or were interrupted and are left out ({which}{more}); "
        f"`{resume_hint(manifest, path)}` reruns them"
    )


def main(args: argparse.Namespace) -> int:
    """Run the comparison and print / export its tables."""
    if args.absolute and args.precision is None:
        raise InputError(
            "it gives the unit of --precision; give --precision P too", field="--absolute"
        )
    if not 0 <= args.bootstrap <= MAX_BOOTSTRAP:
        raise InputError(
            f"expected a number of resamples >= 0 and at most {MAX_BOOTSTRAP:,}, got {args.bootstrap}",
            field="--bootstrap",
        )
    check_table_out(args.out, args.format)
    check_out_path(args.table_csv, "--table-csv")
    results = open_results(args.results, purpose="compare")
    runs = results["runs"]
    if runs.empty or "variant" not in runs.columns:
        raise InputError(
            "the result directory holds no finished runs", file=args.results, field="runs"
        )
    warning = require_finished(results, args.results, args.partial)
    failed = failed_runs_note(runs, args.results, results.manifest)
    if failed:
        warning = f"{warning}; {failed}" if warning else failed
    from agglomeration.experiment.compare import compare
    from agglomeration.metrics.registry import registry_for
    from agglomeration.report.tables import export_tables

    registry = registry_for(results.manifest)
    params = parameter_columns(results)
    metrics = None
    if args.metrics:
        metrics = "all" if [m.lower() for m in args.metrics] == ["all"] else args.metrics
    series = results["series"] if args.at_step is not None else None
    design_kind = str((results.manifest.get("design") or {}).get("kind") or "")
    check_reference_has_runs(runs, results.manifest, args.baseline, args.results)
    result = compare(
        runs,
        baseline=args.baseline,
        metrics=metrics,
        series=series,
        at_step=args.at_step,
        precision=args.precision,
        precision_kind="absolute" if args.absolute else "relative",
        bootstrap=args.bootstrap,
        paired=False if args.unpaired else None,
        parameter_columns=params,
        source=str(args.results),
        registry=registry,
        design_kind=design_kind,
    )
    steps = (results.manifest.get("experiment") or {}).get("steps")
    if any("stopped early" in n for n in result.notes):
        steps = None  # the caption must not say "after N steps" (the notes say why)
    same = identical_note(result, results.manifest)
    tables = _print_comparison(result, args, warning, steps, same)
    decompose_runs = runs if args.at_step is None else _runs_at_step(runs, series, args.at_step)
    if decompose_runs is not None and design_kind not in ("lhs", "sobol", "morris"):
        from agglomeration.experiment.compare import label_design_points

        # the grid points as conditions, labelled as in the comparison table
        decompose_runs = label_design_points(decompose_runs, params)
    tables.update(
        _print_decomposition(
            decompose_runs,
            result.baseline,
            str(args.results),
            args.at_step,
            shared_start=results.manifest.get("start") == "shared",
            label=_label(args, "-decomposition"),
            quiet=bool(same and same[1]),  # identical variants: --out still writes the table
            unpaired=bool(args.unpaired),
        )
    )
    if args.factorial:
        tables.update(_print_factorial(results, args, registry, params, series, metrics))
    if args.out:
        with writing(args.out, "--out"):
            written = export_tables(tables, args.out, args.format)
        for path in written:
            sys.stdout.write(f"wrote {path}\n")
    if args.table_csv:
        with writing(args.table_csv, "--table-csv"):
            _write_table_csv(args.table_csv, results, runs, params)
    return 0


def identical_note(result, manifest: Mapping | None) -> tuple[str, bool] | None:
    """The line that says which variants are identical to the baseline, so that every difference is
    zero, and whether that is every variant compared (then it replaces the console's table of zeros,
    whose p values and NA effect sizes read like a null result); None when no variant is."""
    same = getattr(result, "identical", None) or {}
    if not same:
        return None
    compared = set(result.comparisons["variant"].astype(str)) if len(result.comparisons) else set()
    every = compared <= set(same)
    experiment = (manifest or {}).get("experiment") or {}
    overrides = {
        str(v.get("name")): v.get("overrides") or {}
        for v in experiment.get("variants") or []
        if isinstance(v, Mapping)
    }
    base, parts = result.baseline, []
    for name, by_construction in same.items():
        if by_construction:
            parts.append(
                f"'{name}' runs the same resolved scenario as '{base}' with the same seeds"
            )
            continue
        sets = ", ".join(f"{k} = {v!r}" for k, v in overrides.get(name, {}).items())
        why = f" (its overrides, {sets}, change nothing these runs use)" if sets else ""
        if result.at_step is not None:  # e.g. step 0 of runs from a shared start: not yet apart
            why = f" at step {result.at_step}"
        parts.append(
            f"every run of '{name}' equals the '{base}' run of the same seed in every metric{why}"
        )
    subject = "The variants are identical" if every else "Identical to the baseline"
    line = f"{subject}: {'; '.join(parts)}, so every difference is zero"
    if every:
        line += " (no table of zeros; --out still writes the tables)"
    return line, every


def _write_table_csv(path: str, results, runs, params: list[str]) -> None:
    """The BehaviorSpace-layout CSV, with the variants' overrides as parameter columns."""
    from agglomeration.report.tables import behaviorspace_table

    experiment = results.manifest.get("experiment") or {}
    overrides = {
        str(v.get("name")): {**(experiment.get("overrides") or {}), **(v.get("overrides") or {})}
        for v in experiment.get("variants") or []
        if isinstance(v, Mapping)
    }
    table = behaviorspace_table(runs, results["series"], params, overrides)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    sys.stdout.write(f"wrote {path} ({len(table)} rows)\n")


def _label(args: argparse.Namespace, suffix: str = "") -> str:
    stem = Path(args.out).stem if args.out else "comparison"
    return (args.label or f"tab:{stem}") + suffix


def _print_comparison(
    result, args, warning: str | None, steps: int | None, same: tuple[str, bool] | None = None
) -> dict:
    """Print the publication table with its caption, notes and advice; return the tables to export.
    When every variant is identical to the baseline (``same``), one line says so instead."""
    from agglomeration.report.tables import Table, comparison_caption, to_markdown

    out = sys.stdout
    caption = args.caption or comparison_caption(result, steps=steps)
    if warning:
        caption = f"{warning}. {caption}"
        out.write(f"!! {warning}\n\n")
    where = f"step {args.at_step}" if args.at_step is not None else "final metrics"
    out.write(f"Comparison with '{result.baseline}' ({where})\n\n")
    if same and same[1]:  # one line, not a table of zeros with tests that cannot be made
        out.write(f"{same[0]}.\n")
    else:
        _print_table(result, args, caption, same[0] if same else None)
    adv = result.advice
    if args.precision is not None:
        cols = ["variant", "metric", "n", "half_width", "relative_half_width"]
        cols += ["target_half_width", "replicates_needed"]
        out.write(
            "\nReplication advice (95% CI half-width reached; replicates needed for the target)\n\n"
        )
        adv = adv[cols].copy()
        adv["replicates_needed"] = [
            "NA" if x != x else (f"> {MAX_REPLICATES:,}" if x == float("inf") else f"{int(x):,}")
            for x in adv["replicates_needed"]
        ]
        out.write(to_markdown(adv, digits=3))
    return {
        "table": Table(
            result.table(numeric=True),
            result.table(),
            caption=caption,
            label=_label(args),
            group="Metric",
        ),
        # the long tables are data: every number to 6 significant digits, not rounded by the reporting
        # rule; in LaTeX / Markdown they get a caption saying so, and a label
        **{
            name: Table(
                frame,
                caption=f"{what} (long table, not rounded: numbers to 6 significant digits; the "
                "rounded values are in the main table)",
                label=_label(args, f"-{name}"),
                group="variant",
            )
            for name, frame, what in (
                ("comparisons", result.comparisons, f"Every comparison with '{result.baseline}'"),
                ("summary", result.summary, "Per variant and metric: n, mean, sd and intervals"),
                ("advice", result.advice, "Replication advice per variant and metric"),
            )
        },
    }


def _print_table(result, args, caption: str, same: str | None) -> None:
    """The comparison table with its caption and notes (``same``: the variants identical to the
    baseline, said first)."""
    from agglomeration.report.tables import to_markdown

    out = sys.stdout
    if same:
        out.write(f"note: {same}.\n\n")
    out.write(to_markdown(result.table()))
    out.write(f"\n{caption}\n")
    if len(result.comparisons):
        out.write(
            "Rank tests (Wilcoxon signed-rank / Mann-Whitney U, Holm-adjusted separately) and "
            "Cliff's delta are in the long table (--out FILE writes FILE_comparisons).\n"
        )
    if result.constant:
        from agglomeration.experiment.compare import constant_listing

        listed = constant_listing(result.constant)
        out.write(f"Constant in every run that has a value, left out: {listed}.\n")
    if not args.metrics:
        out.write(
            "Metrics: the primary ones (--metrics NAME ... chooses the family; --metrics all tests "
            "every metric that varies).\n"
        )
    for note in result.notes:
        out.write(f"note: {note}\n")


def _runs_at_step(runs, series, step: int):
    """The runs table with the decomposition's per-type totals taken from the series at ``step`` (the
    totals are cumulative from the start of the observed run); None when the series lacks them."""
    from agglomeration.experiment import decomposition as dec

    cols = [f"{stem}_{t}" for stem in dec.STEMS for t in dec.REGION_TYPES]
    if series is None or "run_id" not in series.columns or not set(cols) <= set(series.columns):
        return None
    at = series.loc[series["step"] == step, ["run_id", *cols]]
    return runs.drop(columns=[c for c in cols if c in runs.columns]).merge(
        at, on="run_id", how="inner"
    )


def _print_decomposition(
    runs,
    baseline: str,
    source: str,
    at_step: int | None = None,
    *,
    shared_start: bool = False,
    label: str | None = None,
    quiet: bool = False,
    unpaired: bool = False,
) -> dict:
    """Print the creation-vs-reallocation table when the runs carry the per-type totals and seeds
    (at ``at_step`` when given: the series' cumulative totals at that step); return it to export.
    When it cannot be computed (a batch of an earlier version, one condition, no shared seeds) a
    one-line note says why.  The points of a grid design are conditions (labelled as in the table).
    ``quiet``: compute the table for export but print nothing (identical variants: nothing to show).
    ``unpaired``: the comparison was asked unpaired; the caption says the decomposition is not."""
    from agglomeration.experiment import decomposition as dec
    from agglomeration.report.tables import Table, to_markdown

    out = io.StringIO() if quiet else sys.stdout
    if runs is None:
        out.write(
            f"\nCreation vs reallocation: not computed at step {at_step} (the series of these "
            "results does not carry the per-type totals)\n"
        )
        return {}
    if not dec.available(runs):
        out.write(
            "\nCreation vs reallocation: not computed (the runs lack the per-region-type totals "
            "and seeds it needs: a batch of an earlier version)\n"
        )
        return {}
    if runs["variant"].astype(str).nunique() < 2:
        out.write(
            "\nCreation vs reallocation: not computed (one condition only: nothing to compare "
            "with the baseline)\n"
        )
        return {}
    try:
        table = dec.decompose(runs, baseline=baseline, source=source)
    except InputError as exc:
        out.write(f"\nCreation vs reallocation: not computed ({exc.message})\n")
        return {}
    caption = (
        f"Creation vs reallocation: change of each region group's firms against '{baseline}' "
        f"{'at the end of the run' if at_step is None else f'at step {at_step}'} "
        "(paired by seed; mean [95% CI] in firms; total = start + creation + diversion + relocation + "
        "survival; see docs/LEVERS.md)"
    )
    if unpaired:  # a component is defined for a pair of runs: it cannot be computed unpaired
        caption += ". --unpaired applies to the comparison above; the decomposition pairs by seed"
    zero = dec.zero_by_construction(table, shared_start)
    text = dec.wide(table, zero)
    out.write(f"\n{caption}\n\n")
    out.write(to_markdown(text))
    if zero:
        out.write(f"{dec.BY_CONSTRUCTION_NOTE}\n")
        caption = f"{caption}. {dec.BY_CONSTRUCTION_NOTE[0].upper()}{dec.BY_CONSTRUCTION_NOTE[1:]}."
    out.write("\n")
    # the numbers (unrounded, long) to csv/parquet/xlsx; the console's text to md/tex
    return {"decomposition": Table(table, text, caption=caption, label=label, group="variant")}


def _print_factorial(results, args, registry, params, series, metrics) -> dict:
    """Run and print the factorial analysis; return its tables to export."""
    from agglomeration.experiment.factorial import factorial
    from agglomeration.report.tables import Table, factorial_tables, to_markdown

    fac = factorial(
        results["runs"],
        manifest=results.manifest,
        metrics=metrics,
        series=series,
        at_step=args.at_step,
        paired=False if args.unpaired else None,
        parameter_columns=params,
        source=str(args.results),
        registry=registry,
    )
    text, numeric, captions = factorial_tables(fac)
    out = sys.stdout
    out.write(f"\nFactorial analysis: {fac.describe()}\n")
    # why the variants are one factor, said before the tables that follow from it
    first = [s.why_one for s in fac.factors if s.why_one]
    for note in first:
        out.write(f"note: {note}\n")
    out.write("\n")
    out.write(to_markdown(text["effects"]))
    out.write(f"\n{captions['effects']}\n\nANOVA\n\n")
    out.write(to_markdown(text["anova"]))
    out.write(f"\n{captions['anova']}\n")
    for note in fac.notes:
        if note not in first:
            out.write(f"note: {note}\n")
    return {
        name: Table(
            numeric[name], text[name], captions[name], _label(args, f"-{name}"), group="Metric"
        )
        for name in ("effects", "anova", "cells")
    }
