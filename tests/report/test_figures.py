"""The shared figure builders: design-aware grouping, fixed colours, labels from the registry, footers
naming the runs, the thinned road network, and write_figures for a single run and sampled designs."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib
import matplotlib.collections
import matplotlib.ticker
import numpy as np
import pandas as pd
import pytest

from _fakes import BASELINE_SCENARIO, policy_runs, regions_for, series_for, write_store
from agglomeration.experiment.store import load_results
from agglomeration.report.figures import conditions_of, forest_figure, timeseries_figure
from agglomeration.report.figureset import write_figures
from agglomeration.report.mapdata import map_data_from_scenario, thin_roads
from agglomeration.report.maps import region_map_figure
from agglomeration.report.style import REFERENCE_COLOUR, condition_colours, sector_colours
from agglomeration.scenario import load_scenario


def _footer(fig) -> str:
    return " ".join(t.get_text() for t in fig.texts)


def _grid_runs() -> pd.DataFrame:
    a = policy_runs({"baseline": 0.0}, replicates=4)
    frames = []
    for p, rate in enumerate([0.1, 0.3, 0.5]):
        frames.append(a.assign(point=p, run_id=a["run_id"] + f"-p{p}", firms=a["firms"] + 40 * p,
                               **{"policy.replication_rate": rate}))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def test_colours_are_fixed_per_condition_and_sector():
    a = condition_colours(["baseline", "x", "y"], "baseline")
    b = condition_colours(["baseline", "x", "y", "z"], "baseline")
    assert a["baseline"] == REFERENCE_COLOUR and a["x"] == b["x"] and a["y"] == b["y"]
    assert len(set(b.values())) == 4
    s = sector_colours(["materials", "components", "vehicles"])
    assert (
        s["vehicles"] == sector_colours(["materials", "components", "vehicles", "rnd"])["vehicles"]
    )


def test_grid_points_are_separate_lines_never_pooled():
    runs = _grid_runs()
    conds = conditions_of(runs, parameter_columns=["policy.replication_rate"])
    assert len(conds.order) == 3 and conds.reference == "baseline [replication_rate=0.1]"
    fig = timeseries_figure(
        series_for(runs), runs, panels=["firms"], conditions=conds, note="store: 12 runs"
    )
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 3  # one line per design point
    finals = sorted(line.get_ydata()[-1] for line in ax.get_lines())
    assert finals[2] - finals[0] == pytest.approx(80, abs=5)  # not averaged into one line
    assert ax.get_title() == "Firms" and ax.get_ylabel() == "firms"
    assert "store: 12 runs" in _footer(fig) and "95% confidence interval" in _footer(fig)
    colours = {matplotlib.colors.to_hex(line.get_color()) for line in ax.get_lines()}
    assert colours == {matplotlib.colors.to_hex(c) for c in conds.colours.values()}


def test_forest_uses_each_metrics_unit_and_percentage_points_for_shares():
    from agglomeration.experiment.compare import compare

    cmp = compare(policy_runs({"baseline": 0.0, "delegation": 60.0, "rail": 5.0}))
    fig = forest_figure(cmp.comparisons, note="from somewhere")
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert labels == ["difference (firms)", "difference (pp)"]
    share_ax = fig.axes[1]
    x = share_ax.get_lines()[0].get_xdata()[0]
    row = cmp.comparisons.set_index(["metric", "variant"]).loc[
        ("local_sourcing_share", "delegation")
    ]
    assert x == pytest.approx(100 * row["diff"])


def test_roads_are_thinned_to_the_relative_neighbourhood_graph():
    pos = pd.DataFrame({"place": ["A", "B", "C"], "lon": [0.0, 1.0, 0.5], "lat": [0.0, 0.0, 0.05]})
    links = pd.DataFrame(
        {
            "from": ["A", "A", "B", "A"],
            "to": ["B", "C", "C", "B"],
            "mode": ["road", "road", "road", "rail"],
        }
    )
    kept, total = thin_roads(links, pos)
    assert total == 3 and {tuple(sorted(p)) for p in kept[["from", "to"]].to_numpy()} == {
        ("A", "C"),
        ("B", "C"),
    }


def test_region_map_draws_sector_colours_and_thinned_roads():
    scenario = load_scenario(BASELINE_SCENARIO)
    geo = map_data_from_scenario(scenario)
    runs = policy_runs({"baseline": 0.0}, replicates=2)
    regions = regions_for(runs).assign(
        sector=lambda f: f["sector"].map(dict(zip(sorted(set(f["sector"])), geo.sectors)))
    )
    fig = region_map_figure(regions, geo, note="two runs")
    legend_texts = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    road = next(t for t in legend_texts if t.startswith("road"))
    shown, total = (int(s) for s in road.split("(")[1].split(" links")[0].split(" of "))
    assert shown < total / 3  # the hairball of ~80 road links is gone
    wedge_colours = {
        matplotlib.colors.to_hex(p.get_facecolor()) for p in fig.axes[0].patches if p.get_fill()
    }
    expected = {matplotlib.colors.to_hex(c) for c in sector_colours(geo.sectors).values()}
    assert wedge_colours <= expected
    assert "two runs" in _footer(fig)


def test_write_figures_for_a_sampled_design_draws_response_plots(tmp_path):
    rng = np.random.default_rng(3)
    a = policy_runs({"baseline": 0.0, "hi": 60.0}, replicates=1)
    frames = []
    for p in range(20):
        x = rng.random()
        frames.append(
            a.assign(
                point=p,
                run_id=a["run_id"] + f"-p{p}",
                firms=a["firms"] + 100 * x,
                **{"behaviour.x": x},
            )
        )
    runs = pd.concat(frames, ignore_index=True)
    root = write_store(
        tmp_path / "lhs",
        runs,
        series=series_for(runs),
        design={"kind": "lhs", "parameters": ["behaviour.x"]},
    )
    written = write_figures(
        load_results(root), tmp_path / "figs", metrics=["firms"], source="lhs", formats=("png",)
    )
    names = {Path(p).stem for p in written}
    assert names == {"timeseries", "forest", "response_firms"}


def test_metrics_constant_in_every_run_get_their_series_and_no_forest(tmp_path, caplog):
    """The forest's comparison raised after the time series were written: half a figure set and
    exit 2."""
    runs = policy_runs({"baseline": 0.0, "hi": 30.0}, replicates=4).assign(firms_other=0.0)
    series = series_for(runs).assign(firms_other=lambda d: 1.0 * (d["step"] % 3))  # it varies
    root = write_store(tmp_path / "b", runs, series=series)
    with caplog.at_level("WARNING"):
        written = write_figures(
            load_results(root), tmp_path / "figs", metrics=["firms_other"], formats=("png",)
        )
    assert {Path(p).stem for p in written} == {"timeseries"}
    assert "no forest plot" in caplog.text and "firms_other = 0" in caplog.text


def test_write_figures_for_one_run_draws_the_overview(tmp_path):
    runs = policy_runs({"baseline": 0.0}, replicates=1)
    series = series_for(runs).assign(firms_ftz=1.0, firms_other=0.0)
    root = write_store(tmp_path / "run", runs, series=series, regions=regions_for(runs))
    written = write_figures(load_results(root), tmp_path / "figs", formats=("png",))
    assert {Path(p).stem for p in written} == {"timeseries", "lq_heatmap"}


def test_region_map_labels_overlap_nothing_and_the_inset_clears_the_legend():
    """Region labels (main map and zoomed inset) and the arrows' destination labels cover no other
    label; the inset beside the map does not reach into the sector legend."""
    geo, regions = _baseline_map_inputs()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = region_map_figure(regions, geo)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    main = fig.axes[0]
    assert len(main.child_axes) == 1  # the baseline's metropolitan core is zoomed
    for ax in (main, *main.child_axes):
        boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text().strip()]
        assert len(boxes) >= 5
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not a.overlaps(b), (a, b)
    sector_legend = fig.legends[0].get_window_extent(renderer)
    inset = main.child_axes[0].get_tightbbox(renderer)
    assert not sector_legend.overlaps(inset)
    _assert_labels_nearest_their_own_pie(fig, geo, renderer)


def _assert_labels_nearest_their_own_pie(fig, geo, renderer) -> None:
    """Each region label lies nearer its own pie than any other pie, or has a leader line to it (in the
    inset the labels once sat beside a neighbour's pie: "CS" next to RC's)."""
    from matplotlib.patches import Wedge
    from matplotlib.transforms import Bbox

    from agglomeration.report.maps import _gap

    where = {str(r.region): (r.lon, r.lat) for r in geo.regions.itertuples(index=False)}
    main = fig.axes[0]
    for ax in (main, *main.child_axes):
        pies: dict = {}
        for w in ax.patches:
            if isinstance(w, Wedge):
                box = w.get_window_extent(renderer)
                key = tuple(np.round(w.center, 6))
                pies[key] = Bbox.union([pies[key], box]) if key in pies else box
        checked = 0
        for t in ax.texts:
            name = t.get_text().split(" ")[0]
            if name not in where or not t.get_visible() or t.get_gid() == "leader":
                continue
            own = pies.get(tuple(np.round(where[name], 6)))
            if own is None:
                continue
            label = t.get_window_extent(renderer)
            d_own = _gap(label, own)
            others = [_gap(label, q) for c, q in pies.items() if q is not own]
            assert all(d_own <= d + 0.5 for d in others), (name, d_own, min(others))
            checked += 1
        assert checked >= 3


def test_share_bands_are_the_compare_tables_intervals_and_stay_in_0_to_100():
    """The bands of a share used plain t intervals (whiskers from -70 % to 170 % in a response plot)
    while `compare` reports logit-scale intervals: the figure and the table disagreed."""
    from agglomeration.experiment.compare import mean_interval
    from agglomeration.metrics.registry import REGISTRY

    metric = "local_sourcing_share"
    values = np.array([[0.02, 0.03], [0.9, 0.5], [0.05, 0.04]])  # 3 runs x 2 steps, wide spread
    series = pd.DataFrame(
        [{"run_id": f"r{r}", "step": s, metric: values[r, s]} for r in range(3) for s in range(2)]
    )
    runs = pd.DataFrame({"run_id": ["r0", "r1", "r2"], "variant": "baseline", "status": "ok"})
    conds = conditions_of(runs)
    fig = timeseries_figure(series, runs, panels=[metric], conditions=conds)
    band = fig.axes[0].collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() >= 0.0 and band.max() <= 100.0
    info = REGISTRY.info(metric)
    ci = [mean_interval(v.mean(), v.std(ddof=1), 3, info)[:2] for v in values.T]  # per step
    assert band.min() == pytest.approx(100 * min(lo for lo, _ in ci))
    assert band.max() == pytest.approx(100 * max(hi for _, hi in ci))


def test_supplier_network_legend_shares_count_every_domestic_link_not_only_the_drawn():
    from agglomeration.report.maps import supplier_network_figure

    geo = map_data_from_scenario(load_scenario(BASELINE_SCENARIO))
    # 10 valuable links within LJ (drawn) and 30 cheap ones from LJ to XY (not drawn)
    rows = [("LJ", "LJ", 100.0)] * 10 + [("LJ", "XY", 1.0)] * 30
    links = pd.DataFrame(
        {
            "buyer": range(100, 140),
            "supplier": range(0, 40),
            "supplier_region": [r[0] for r in rows],
            "buyer_region": [r[1] for r in rows],
            "value": [r[2] for r in rows],
        }
    )
    fig = supplier_network_figure(links, geo, max_links=10)
    legend = fig.axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["within a region (25%)", "between regions (75%)"], labels
    assert "40" in legend.get_title().get_text()


def test_lq_heatmap_leaves_empty_cells_blank_and_marks_tiny_quotients():
    """'0.00' was printed on grey cells without firms and on cells with a few (LQ 0.0037)."""
    from agglomeration.report.figures import lq_heatmap_figure

    regions = pd.DataFrame(
        {
            "run_id": "r0",
            "region": ["A", "A", "B", "B"],
            "sector": ["x", "y", "x", "y"],
            "lq": [0.0, 1.5, 0.0037, 0.8],
        }
    )
    fig = lq_heatmap_figure(regions)
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["0.80", "1.50", "<0.01"], texts


# ------------------------------------------------------------------------------------------ readability
def _baseline_map_inputs():
    """(map data of the baseline scenario, a one-run regions frame with the baseline's sector ids)."""
    geo = map_data_from_scenario(load_scenario(BASELINE_SCENARIO))
    regions = regions_for(policy_runs({"baseline": 0.0}, replicates=1)).assign(
        sector=lambda f: f["sector"].map(dict(zip(sorted(set(f["sector"])), geo.sectors)))
    )
    return geo, regions


def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _tick_texts(axis) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]


def test_output_axis_has_no_offset_text_and_names_the_scaled_unit():
    """Output (CNY m per step) near 700,000 was drawn with a '1e6' offset text over plain 0.25 ticks;
    now the axis reads in CNY bn with plain ticks and no offset text."""
    runs = policy_runs({"baseline": 0.0}, replicates=1)
    series = series_for(runs).assign(
        output=lambda f: 650_000 + 10_000 * f["step"], output_ftz=lambda f: 200_000 + 0 * f["step"]
    )
    fig = timeseries_figure(series, runs, panels=[("Output", ["output", "output_ftz"])])
    _drawn(fig)
    ax = next(a for a in fig.axes if a.get_title() == "Output")
    assert ax.yaxis.get_offset_text().get_text() == ""
    assert ax.get_ylabel() == "CNY bn per step"
    ticks = _tick_texts(ax.yaxis)
    assert ticks and all("e" not in t for t in ticks)
    assert max(float(t.replace(",", "").replace("\u2212", "-")) for t in ticks) < 2_000


def test_a_share_panel_has_no_tick_above_100_percent():
    """The legend's headroom stretched a one-run share panel to about 135 %, with a tick at 125 %
    that read as a possible value; the headroom stays, the ticks stop at 100 %."""
    runs = policy_runs({"baseline": 0.0}, replicates=1)
    series = series_for(runs).assign(
        mean_chain_coverage=lambda f: 0.9 - 0.02 * f["step"],
        import_share=lambda f: 0.2 + 0.001 * f["step"],
    )
    panel = ("Supply chains", ["local_sourcing_share", "mean_chain_coverage", "import_share"])
    fig = timeseries_figure(series, runs, panels=[panel])
    _drawn(fig)
    ax = next(a for a in fig.axes if a.get_title() == "Supply chains")
    assert ax.get_ylim()[1] > 100  # the legend's room is kept
    ticks = [float(t) for t in _tick_texts(ax.yaxis)]
    assert ticks and max(ticks) <= 100 and 100 in ticks
    counts = timeseries_figure(
        series.assign(firms_ftz=lambda f: 1000 + f["step"]),
        runs,
        panels=[("F", ["firms", "firms_ftz"])],
    )  # an unbounded metric keeps every tick
    _drawn(counts)
    assert not isinstance(counts.axes[0].yaxis.get_major_locator(), matplotlib.ticker.FixedLocator)


def test_tick_labels_have_thousands_separators():
    """Firms near 3,000 (the fake runs) are labelled 3,000, not 3000."""
    runs = policy_runs({"baseline": 0.0, "delegation": 60.0}, replicates=4)
    fig = timeseries_figure(series_for(runs), runs, panels=["firms"])
    _drawn(fig)
    ax = fig.axes[0]
    ticks = [t for t in _tick_texts(ax.yaxis) if t != "0"]
    assert ticks and all("," in t for t in ticks), ticks
    assert ax.yaxis.get_offset_text().get_text() == ""


def test_readable_formatter_prints_every_tick_exactly():
    from agglomeration.report.style import ReadableFormatter, scaled_unit, unit_power

    f = ReadableFormatter()
    f.set_locs([0.0, 0.25, 0.5, 1.25])
    assert [f(v) for v in (0.0, 0.25, 1.25)] == ["0.00", "0.25", "1.25"]
    f = ReadableFormatter(1000.0)
    f.set_locs([-500_000.0, 0.0, 1_250_000.0])
    assert [f(v) for v in (-500_000.0, 0.0, 1_250_000.0)] == ["\u2212500", "0", "1,250"]
    assert unit_power(9_999, "firms") == 0 and unit_power(700_000, "CNY m per step") == 1
    assert scaled_unit("CNY m per step", 1) == "CNY bn per step"
    assert scaled_unit("firms", 1) == "thousand firms"


def _many_comparisons(n_variants: int, n_metrics: int) -> pd.DataFrame:
    metrics = ["firms", "output", "local_sourcing_share", "firms_ftz", "firms_connected", "exits"]
    rows = []
    for m in metrics[:n_metrics]:
        for k in range(n_variants):
            big = 400.0 if m == "firms" else 1.0  # firms up to 8,800: ticks 2,000, 4,000, ...
            rows.append({"metric": m, "variant": f"variant_{k:02d}", "baseline": "baseline",
                         "diff": big * (k - 3), "diff_ci_low": big * (k - 5),
                         "diff_ci_high": big * (k - 1)})  # fmt: skip
    return pd.DataFrame(rows)


def test_forest_height_is_bounded_and_its_labels_are_readable():
    from agglomeration.report.figures import FOREST_MAX_HEIGHT_IN, forest_metrics_per_page

    per_page = forest_metrics_per_page(24)
    assert 1 <= per_page < 6
    fig = forest_figure(_many_comparisons(24, per_page))
    assert fig.get_figheight() <= FOREST_MAX_HEIGHT_IN + 0.01  # was 0.28 in per row: > 20 in
    renderer = _drawn(fig)
    for ax in fig.axes:
        labels = [t.get_window_extent(renderer) for t in ax.get_yticklabels()]
        assert len(labels) == 24
        for a, b in itertools.pairwise(labels):
            assert not a.overlaps(b), (a, b)  # the variants' names stay apart
        assert min(t.get_fontsize() for t in ax.get_yticklabels()) >= 7
        assert ax.xaxis.get_offset_text().get_text() == ""
    firms = fig.axes[0]
    lo, hi = firms.get_xlim()
    shown = [t.get_text() for t in firms.get_xticklabels() if lo <= t.get_position()[0] <= hi]
    assert any("," in t for t in shown), shown
    small = forest_figure(_many_comparisons(3, 2))
    assert small.get_figheight() < 4  # a small comparison stays small


def test_conditions_differ_in_line_style_and_marker_not_only_colour():
    """Lines, legend entries and band outlines carry each condition's line style, so the bands of
    overlapping conditions can be told apart in greyscale."""
    from agglomeration.report.style import condition_styles

    runs = policy_runs({"baseline": 0.0, "a": 60.0, "b": 5.0, "c": 20.0}, replicates=4)
    fig = timeseries_figure(series_for(runs), runs, panels=["firms"])
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert (
        len({(str(line.get_linestyle()), line.get_marker()) for line in lines}) == len(lines) == 4
    )
    edges = [c for c in ax.collections if isinstance(c, matplotlib.collections.LineCollection)]
    assert len(edges) == 4  # each band's upper and lower edge
    assert len({str(e.get_linestyle()) for e in edges}) == 4  # in its condition's dash pattern
    assert all(e.get_linewidth()[0] > 0 for e in edges)
    # lines along the steps: no vertical closing edge at the first or last step
    assert all(np.all(np.diff(seg[:, 0]) > 0) for e in edges for seg in e.get_segments())
    fills = [c for c in ax.collections if c not in edges]
    assert len(fills) == 4 and all(c.get_linewidth()[0] == 0 for c in fills)
    legend = fig.legends[0]
    assert len({(str(h.get_linestyle()), h.get_marker()) for h in legend.legend_handles}) == 4
    styles = condition_styles(["baseline", "a", "b"], "baseline")
    assert styles["baseline"] == ("-", "o") and len(set(styles.values())) == 3


def test_break_points_figure_labels_overlap_nothing():
    """The FE break points' annotations (sigma=5, mu=0.4 and sigma=4, mu=0.3 sit 0.007 apart) were
    drawn on top of each other; the pairs are now named in a legend and on the rows of a difference
    panel."""
    from agglomeration.report.figures import break_points_figure

    rows = [(5, 0.4, 0.6970, 0.6963), (4, 0.3, 0.7040, 0.7028), (3, 0.4, 0.5098, 0.5092),
            (6, 0.2, 0.8635, 0.8629)]  # fmt: skip
    fig = break_points_figure(rows)
    renderer = _drawn(fig)
    texts = [t for ax in fig.axes for t in ax.texts]
    texts += [t for ax in fig.axes for t in ax.get_yticklabels() + ax.get_xticklabels()]
    texts += [t for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    texts += [ax.title for ax in fig.axes] + [ax.xaxis.label for ax in fig.axes]
    boxes = [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]
    assert sum("sigma=" in t.get_text() for t in texts) == 8  # legend and rows
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    diffs = [line.get_xdata()[0] for line in fig.axes[1].get_lines() if line.get_marker() != "None"]
    assert diffs == pytest.approx([b - a for _, _, a, b in rows])


def test_region_map_inset_is_large_and_its_labels_legible():
    """The zoomed metropolitan core was a small inset (at most half the map's height, 6.5 pt labels
    crowding each other and the neighbours' pies); it is now beside the map, as tall as the map, with
    labels as large as the main map's that cover no other region's pie, and neither it nor its
    connector lines run over the main map's labels."""
    from matplotlib.patches import ConnectionPatch, Wedge
    from matplotlib.transforms import Bbox

    geo, regions = _baseline_map_inputs()
    fig = region_map_figure(regions, geo)
    renderer = _drawn(fig)
    main = fig.axes[0]
    (inset,) = main.child_axes
    frame_main = main.get_window_extent(renderer)
    frame_inset = inset.get_window_extent(renderer)
    assert frame_inset.height >= 0.8 * frame_main.height
    assert frame_inset.width >= 2.0 * fig.dpi  # inches
    assert not frame_inset.overlaps(frame_main)
    labels = [t for t in inset.texts if t.get_text().strip()]
    assert len(labels) >= 5 and min(t.get_fontsize() for t in labels) >= 7
    pies: dict = {}
    for w in inset.patches:
        if isinstance(w, Wedge):
            key = tuple(np.round(w.center, 6))
            box = w.get_window_extent(renderer)
            pies[key] = Bbox.union([pies[key], box]) if key in pies else box
    where = {str(r.region): tuple(np.round((r.lon, r.lat), 6)) for r in geo.regions.itertuples()}
    for t in labels:
        own = where.get(t.get_text().split(" ")[0])
        ext = t.get_window_extent(renderer).shrunk(0.95, 0.8)  # the text, not its padding
        for key, box in pies.items():
            if key != own:
                assert not ext.overlaps(box), (t.get_text(), key)
    main_texts = [t.get_window_extent(renderer) for t in main.texts if t.get_text().strip()]
    connectors = list(fig.findobj(ConnectionPatch))  # matplotlib < 3.10: patches of the map
    for artist in main.get_children():  # >= 3.10: inside an InsetIndicator
        connectors += list(getattr(artist, "connectors", None) or ())
    visible = [c for c in connectors if c.get_visible()]
    assert len(connectors) == 4 and len(visible) >= 1
    for conn in visible:
        path = conn.get_path().transformed(conn.get_transform())
        assert path.get_extents().width > 10  # really in display pixels
        for box in main_texts:
            assert not path.intersects_bbox(box, filled=False), box


def test_mode_share_segments_differ_in_hatching_not_only_colour():
    from agglomeration.report.logistics_figures import mode_share_figure

    rows = [
        {"kind": "mode", "metric": m, "key": key, "option": opt, "value": v}
        for m in ("value_share", "tonnes_share")
        for key in ("regional", "eu")
        for opt, v in (("road", 0.5), ("rail", 0.3), ("river", 0.2))
    ]
    fig = mode_share_figure(pd.DataFrame(rows))
    hatches = {}
    for bar in fig.axes[0].patches:
        hatches.setdefault(bar.get_facecolor(), set()).add(bar.get_hatch() or "")
    assert len(hatches) == 3 and all(len(h) == 1 for h in hatches.values())
    assert len({next(iter(h)) for h in hatches.values()}) == 3  # one pattern per option


def test_a_narrow_region_map_keeps_its_inset_clear_of_the_sector_legend():
    """A map without the extra width (the dashboard's: fixed margins, legends on the right) has the
    small inset at the top right and the sector legend under it: the legend ran into the inset's
    title (the dashboard renders the figure with ``bbox_inches="tight"``, so the legends right of
    the axes are not cut off)."""
    from matplotlib.figure import Figure

    from agglomeration.report.maps import _firm_matrix, draw_region_map

    geo, regions = _baseline_map_inputs()
    fig = Figure(figsize=(6.4, 6.4 * 0.72))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.1, right=0.74, bottom=0.22, top=0.92)  # as dashboard.map_figure
    draw_region_map(ax, _firm_matrix(regions, geo, None), geo)
    renderer = _drawn(fig)
    (inset,) = ax.child_axes
    legend = next(lg for lg in fig.legends if lg.get_title().get_text() == "firms by sector")
    inset_box = inset.get_tightbbox(renderer)  # with its title
    assert not inset_box.overlaps(legend.get_window_extent(renderer))
    assert inset_box.y0 > legend.get_window_extent(renderer).y1 - 1  # the legend under it


def test_a_design_with_more_variants_than_a_page_holds_is_paged_over_figures(tmp_path):
    """120 variants (a 120-cell design): the forest plot is split into pages of at most
    FOREST_MAX_ROWS variants, each figure within the page height, every variant on exactly one page
    and with the same marker as on a single page."""
    from PIL import Image

    from agglomeration.report.figures import (
        FOREST_MAX_HEIGHT_IN,
        FOREST_MAX_ROWS,
        forest_variant_pages,
    )

    assert forest_variant_pages(["a", "b"]) == [["a", "b"]]
    names = [f"v{k:03d}" for k in range(120)]
    pages = forest_variant_pages(names)
    assert [v for page in pages for v in page] == names
    assert len(pages) == 3 and max(map(len, pages)) <= FOREST_MAX_ROWS
    runs = policy_runs(
        {"baseline": 0.0, **{n: float(k) for k, n in enumerate(names)}}, replicates=3
    )
    root = write_store(tmp_path / "many", runs)
    written = write_figures(
        load_results(root), tmp_path / "figs", metrics=["firms"], formats=("png",)
    )
    forests = sorted(p for p in written if Path(p).stem.startswith("forest"))
    assert [Path(p).stem for p in forests] == ["forest_1", "forest_2", "forest_3"]
    for path in forests:
        with Image.open(path) as im:
            height_in = im.size[1] / im.info["dpi"][1]
        # (the saved file adds the tight bounding box's padding; one page of 120 rows: ~19 in)
        assert height_in <= FOREST_MAX_HEIGHT_IN + 0.25, (path, height_in)
    # the markers follow a variant's place among all variants, not within its page
    rows = pd.DataFrame(
        [{"metric": "firms", "variant": n, "baseline": "baseline", "diff": 1.0,
          "diff_ci_low": 0.0, "diff_ci_high": 2.0} for n in names]
    )  # fmt: skip
    whole = forest_figure(rows)
    part = forest_figure(rows[rows["variant"].isin(pages[1])], order=names)

    def markers(fig):
        return [c.lines[0].get_marker() for c in fig.axes[0].containers]  # one errorbar a row

    # every page spans the whole comparison's range (pages read on one scale)
    shared = forest_figure(rows[rows["variant"].isin(pages[0])], order=names, shared=rows)
    assert shared.axes[0].get_xlim() == pytest.approx(whole_range := (-0.1, 2.1))
    assert forest_figure(rows.assign(diff_ci_high=5.0)).axes[0].get_xlim()[1] > whole_range[1]
    full, paged = markers(whole), markers(part)
    assert len(set(full)) > 1  # the markers differ between variants, so the check below can fail
    offset = len(pages[0])
    assert paged == full[offset : offset + len(pages[1])]


@pytest.mark.parametrize("steps", [5, 13])
def test_time_axes_tick_whole_steps(steps):
    """A short run's time axis shows whole steps (it showed 0.0, 2.5, ..., 12.5 quarters), in the
    single-panel and the faceted time series."""
    from agglomeration.report.figures import timeseries_facets_figure

    runs = policy_runs({"baseline": 0.0, "a": 30.0}, replicates=3)
    series = series_for(runs, steps=steps)
    conds = conditions_of(runs)
    for fig in (
        timeseries_figure(series, runs, panels=["firms"], conditions=conds),
        timeseries_facets_figure(series, "firms", conds),
    ):
        _drawn(fig)
        ticks = [t for t in fig.axes[0].get_xticks() if -0.5 <= t <= steps]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_supplier_network_is_as_tall_as_its_map_and_its_title_names_no_long_seed():
    """The figure's height follows the map's equal aspect (a fixed 5.2 inches left a blank band
    under Chongqing's wide map); a batch's 19-digit seed is not put in a title (the run id is)."""
    from agglomeration.report.figureset import _run_phrase
    from agglomeration.report.maps import supplier_network_figure

    geo = map_data_from_scenario(load_scenario(BASELINE_SCENARIO))
    links = pd.DataFrame(
        {"buyer": [1, 2], "supplier": [3, 4], "supplier_region": ["LJ", "CD"],
         "buyer_region": ["XY", "WZ"], "value": [1.0, 2.0]}
    )  # fmt: skip
    fig = supplier_network_figure(links, geo)
    assert fig.get_figheight() < 5.0
    _drawn(fig)
    ax = fig.axes[0]
    box = ax.get_position()  # the frame fills the height it was given (no blank band below)
    assert box.height > 0.6, box
    runs = pd.DataFrame(
        {"run_id": ["abcdef1234", "r2"], "variant": ["base", "base"], "replicate": [0, 1],
         "seed": [1234567890123456789, 7]}
    )  # fmt: skip
    assert _run_phrase(runs, "abcdef1234") == "base, replicate 0 (run abcdef12)"
    assert _run_phrase(runs, "r2") == "base, replicate 1, seed 7 (run r2)"


def test_region_map_labels_each_off_map_destination_once():
    """Arrows from several regions to one place off the map (DOM from CD and from WZ) each drew the
    place's name: one label per destination now, and the region labels keep clear of the arrows' tips
    (most of them unlabelled now)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    geo, regions = _baseline_map_inputs()
    fig = region_map_figure(regions, geo)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    main = fig.axes[0]
    places = set(geo.places["place"].astype(str))
    names = [t.get_text().strip() for t in main.texts if t.get_text().strip() in places]
    assert names and len(names) == len(set(names)), names
    tips = [a.xy for a in main.texts if getattr(a, "arrow_patch", None) is not None]
    assert len(tips) > len(names)  # some destinations have several arrows and one label
    renderer = canvas.get_renderer()
    ids = set(geo.regions["region"].astype(str))
    for t in main.texts:
        if t.get_text().split(" ")[0] in ids:
            box = t.get_window_extent(renderer)
            for x, y in main.transData.transform(tips):
                assert not box.contains(x, y), t.get_text()


def test_supplier_network_names_sit_beside_their_own_group_in_the_dense_core():
    """In the crowded core the region names sat at a fixed corner of each group, on a neighbour's
    firms ("HT" on LJ's group); each name now keeps clear of the other groups and names, and the
    many links between regions fade instead of merging into a solid block."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.transforms import Bbox

    from agglomeration.report.maps import supplier_network_figure

    geo = map_data_from_scenario(load_scenario(BASELINE_SCENARIO))
    # the firms of each region as in a small baseline run (firm ids in blocks per region)
    sizes = {"ED": 54, "LJ": 42, "CD": 38, "RC": 33, "XY": 29, "HT": 22, "GY": 22, "YC": 21}
    sizes |= {"NP": 16, "CS": 12, "FL": 10, "WZ": 6, "DJ": 6, "YY": 1}
    region = np.repeat(list(sizes), list(sizes.values()))
    rng = np.random.default_rng(3)
    buyer = rng.integers(0, len(region), 2000)
    supplier = rng.integers(0, len(region), 2000)
    links = pd.DataFrame(
        {"buyer": buyer, "supplier": supplier, "buyer_region": region[buyer]}
    ).assign(supplier_region=region[supplier], value=1.0)
    fig = supplier_network_figure(links, geo)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    between = next(c for c in ax.collections if isinstance(c, LineCollection))
    assert between.get_alpha() < 0.25
    # the firm dots, in the figure's order of nodes (by region, then firm id)
    dots = next(c for c in ax.collections if isinstance(c, PathCollection))
    linked = np.unique(np.concatenate([buyer[buyer != supplier], supplier[buyer != supplier]]))
    order = region[linked].argsort(kind="stable")  # by region, then firm id
    where = region[linked][order]
    px = ax.transData.transform(dots.get_offsets())
    groups = {r: Bbox([px[where == r].min(axis=0), px[where == r].max(axis=0)]) for r in sizes}
    labels = {
        t.get_text(): t.get_window_extent(renderer) for t in ax.texts if t.get_text() in sizes
    }
    assert set(labels) == set(sizes)
    for name, box in labels.items():
        for other, group in groups.items():
            if other != name:
                assert not box.overlaps(group), (name, other)
        for other, b in labels.items():
            assert other == name or not box.overlaps(b), (name, other)


def test_the_constant_metrics_footer_lists_them_in_panel_order_not_hash_order():
    """They were gathered in a set, so the footer (and the PNG) changed with the string-hash seed."""
    constants = ["zeta_a", "alpha_b", "mid_c", "omega_d", "beta_e", "kappa_f"]
    series = pd.DataFrame({"run_id": "r", "step": np.arange(5), "firms": np.arange(5) + 10.0})
    for k, name in enumerate(constants):
        series[name] = float(k + 1)
    fig = timeseries_figure(series, panels=["firms", *constants])
    footer = _footer(fig)
    positions = [footer.index(f"= {k + 1:g}") for k in range(len(constants))]
    assert positions == sorted(positions), footer
