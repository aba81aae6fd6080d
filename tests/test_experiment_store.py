"""Result store (no model runs): atomic parts, corrupt-part detection, consolidation, load_results."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from agglomeration.errors import ResultStoreError
from agglomeration.experiment.store import FORMAT, ResultStore, describe_changes, load_results


def _store(tmp_path) -> ResultStore:
    s = ResultStore(tmp_path / "res")
    s.root.mkdir()
    s.write_manifest({"format": FORMAT})
    return s


def _ok_run(s: ResultStore, rid: str, metric: float | int = 1.0, n_steps: int = 3) -> None:
    s.write_part(
        "series",
        rid,
        pd.DataFrame({"run_id": rid, "step": range(n_steps), "firms": [10.0] * n_steps}),
    )
    s.write_part("runs", rid, pd.DataFrame([{"run_id": rid, "status": "ok", "firms": metric}]))


def test_parts_are_written_atomically_without_leftovers(tmp_path):
    s = _store(tmp_path)
    _ok_run(s, "a" * 16)
    files = sorted(p.name for p in s.part_dir("runs").iterdir())
    assert files == ["a" * 16 + ".parquet"]  # no temp file left behind


def test_scan_classifies_ok_failed_missing_and_corrupt(tmp_path):
    s = _store(tmp_path)
    ids = [f"{i:016x}" for i in range(5)]
    _ok_run(s, ids[0])
    s.write_part(
        "runs", ids[1], pd.DataFrame([{"run_id": ids[1], "status": "failed", "error": "x"}])
    )
    _ok_run(s, ids[2])
    # a truncated runs part
    p = s.part_path("runs", ids[2])
    p.write_bytes(p.read_bytes()[:-20])
    _ok_run(s, ids[3])
    # runs part fine but its series part is truncated
    q = s.part_path("series", ids[3])
    q.write_bytes(q.read_bytes()[: len(q.read_bytes()) // 2])
    status = s.scan(ids, ["series"])
    assert status == {
        ids[0]: "ok",
        ids[1]: "failed",
        ids[2]: "corrupt",
        ids[3]: "corrupt",
        ids[4]: "missing",
    }
    # a required table that was never written makes an ok run incomplete
    assert s.scan([ids[0]], ["series", "regions"]) == {ids[0]: "missing"}


def test_consolidate_unifies_schemas_and_load_results_prefers_fresh_tables(tmp_path):
    s = _store(tmp_path)
    _ok_run(s, "0" * 16, metric=3)  # int metric
    _ok_run(s, "1" * 16, metric=2.5)  # float metric
    s.write_part(
        "runs", "2" * 16, pd.DataFrame([{"run_id": "2" * 16, "status": "failed", "error": "boom"}])
    )
    s.write_frame("plan", pd.DataFrame({"run_id": ["1" * 16, "0" * 16, "2" * 16]}))
    counts = s.consolidate()
    assert counts == {"series": 6, "runs": 3}
    res = load_results(s.root)
    assert res._fresh
    runs = res["runs"]
    assert list(runs["run_id"]) == ["1" * 16, "0" * 16, "2" * 16]  # plan order
    assert runs["firms"].tolist()[:2] == [2.5, 3.0] and pd.isna(runs["firms"].iloc[2])
    assert runs["error"].iloc[2] == "boom"
    assert set(res) >= {"runs", "series", "regions", "plan"} and len(res["regions"]) == 0
    # a new part makes the consolidated tables stale: load_results falls back to the parts
    _ok_run(s, "3" * 16)
    res2 = load_results(s.root)
    assert not res2._fresh and len(res2["runs"]) == 4 and len(res2["series"]) == 9


def test_load_results_rejects_non_result_directories(tmp_path):
    with pytest.raises(ResultStoreError, match="not found"):
        load_results(tmp_path / "nope")
    (tmp_path / "d").mkdir()
    with pytest.raises(ResultStoreError, match="no manifest"):
        load_results(tmp_path / "d")
    (tmp_path / "d" / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ResultStoreError, match="not an agglomeration result directory"):
        load_results(tmp_path / "d")


def test_describe_changes_names_the_changed_fields():
    old = {"seed": 1, "variants": [{"name": "a", "overrides": {"x": 1}}]}
    new = {"seed": 2, "variants": [{"name": "a", "overrides": {"x": 3}}]}
    msg = describe_changes(old, new)
    assert "seed: 1 -> 2" in msg and "variants[a].overrides.x: 1 -> 3" in msg
