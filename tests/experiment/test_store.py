"""Result store (no model runs): atomic parts, corrupt-part detection, consolidation, load_results."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from _fakes import REGIONS, SECTORS, policy_store
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


# ------------------------------------------------------------------------------------------------
# content verification, no silent loss, completion marker, writer lock
# ------------------------------------------------------------------------------------------------
def _ok_run_with_sums(s: ResultStore, rid: str) -> None:
    """Write a run as the runner does: tables first, the runs part last with their checksums."""
    sums = {
        "series": s.write_part(
            "series", rid, pd.DataFrame({"run_id": rid, "step": range(3), "firms": [10.0] * 3})
        )
    }
    s.write_part(
        "runs", rid, pd.DataFrame([{"run_id": rid, "status": "ok", "firms": 1.0}]), checksums=sums
    )


def _damage(path) -> None:
    b = bytearray(path.read_bytes())
    b[len(b) // 3] ^= 0x01  # one bit: size unchanged, content not
    path.write_bytes(bytes(b))


def test_runs_part_records_size_and_sha256_of_the_run_parts(tmp_path):
    from agglomeration.experiment.store import file_digest

    s = _store(tmp_path)
    _ok_run_with_sums(s, "a" * 16)
    row, sums = s.run_record("a" * 16)
    assert row["status"] == "ok"
    assert sums == {"series": file_digest(s.part_path("series", "a" * 16))}
    assert s.scan(["a" * 16], ["series"]) == {"a" * 16: "ok"}


def test_a_flipped_bit_is_found_by_content(tmp_path):
    s = _store(tmp_path)
    _ok_run_with_sums(s, "a" * 16)
    _ok_run_with_sums(s, "b" * 16)
    _damage(s.part_path("series", "b" * 16))
    assert s.scan(["a" * 16, "b" * 16], ["series"]) == {"a" * 16: "ok", "b" * 16: "corrupt"}


def test_consolidation_and_load_results_raise_on_a_damaged_part_instead_of_dropping_it(tmp_path):
    s = _store(tmp_path)
    for rid in ("a" * 16, "b" * 16):
        _ok_run_with_sums(s, rid)
    _damage(s.part_path("series", "b" * 16))
    with pytest.raises(ResultStoreError, match="damaged part of run " + "b" * 16):
        s.consolidate()
    assert not (s.root / "tables" / "series.parquet").exists()
    with pytest.raises(ResultStoreError, match="resume the batch"):
        load_results(s.root)["series"]
    assert len(load_results(s.root)["runs"]) == 2  # the runs table itself is intact


def test_a_damaged_consolidated_table_is_a_result_store_error(tmp_path):
    s = _store(tmp_path)
    _ok_run_with_sums(s, "a" * 16)
    s.consolidate()
    table = s.root / "tables" / "series.parquet"
    table.write_bytes(table.read_bytes()[:-40])  # truncated: pyarrow alone raises ArrowInvalid
    with pytest.raises(ResultStoreError, match=r"tables/series.parquet.*--resume"):
        load_results(s.root)["series"]
    s.consolidate()
    _damage(table)  # same size, one bit: caught by the recorded sha256
    with pytest.raises(ResultStoreError, match="checksum"):
        load_results(s.root)["series"]


def test_parts_of_unfinished_and_failed_runs_are_left_out_of_tables(tmp_path):
    s = _store(tmp_path)
    _ok_run_with_sums(s, "a" * 16)
    s.write_part(
        "series", "b" * 16, pd.DataFrame({"run_id": "b" * 16, "step": [0], "firms": [1.0]})
    )
    s.write_part(
        "series", "c" * 16, pd.DataFrame({"run_id": "c" * 16, "step": [0], "firms": [1.0]})
    )
    s.write_part(
        "runs",
        "c" * 16,
        pd.DataFrame([{"run_id": "c" * 16, "status": "interrupted", "error": "x"}]),
    )
    res = load_results(s.root)
    assert set(res["series"]["run_id"]) == {"a" * 16}  # b in flight, c interrupted
    assert s.scan(["a" * 16, "b" * 16, "c" * 16], ["series"]) == {
        "a" * 16: "ok",
        "b" * 16: "missing",
        "c" * 16: "interrupted",
    }


def test_completion_marker_lists_files_with_checksums(tmp_path):
    s = _store(tmp_path)
    _ok_run_with_sums(s, "a" * 16)
    s.consolidate()
    assert s.completion() is None and s.verify_completion()
    s.write_completion("batch", "complete", ["manifest.json", "tables/series.parquet"])
    assert s.completion()["files"]["manifest.json"]["bytes"] > 0
    assert s.verify_completion() == []
    _damage(s.root / "tables" / "series.parquet")
    assert s.verify_completion() == ["tables/series.parquet: content changed since it was written"]
    s.clear_completion()
    assert s.completion() is None


def test_writer_lock_excludes_a_second_writer_but_not_shards(tmp_path):
    s = _store(tmp_path)
    assert s.active_writer() is None
    with s.lock():
        assert "pid" in s.active_writer()
        with pytest.raises(ResultStoreError, match="another `agglomeration batch` is writing"):
            with ResultStore(s.root).lock():
                pass
        with pytest.raises(ResultStoreError, match="another"):
            with ResultStore(s.root).lock((0, 2)):
                pass
    assert s.active_writer() is None
    with s.lock((0, 2)), ResultStore(s.root).lock((1, 2)):  # two shards side by side
        with pytest.raises(ResultStoreError, match="shard"):
            with ResultStore(s.root).lock((1, 2)):  # the same shard twice
                pass
        with pytest.raises(ResultStoreError):
            with ResultStore(s.root).lock():  # the whole batch while shards run
                pass
    with s.lock():  # released
        pass


def test_a_damaged_table_message_says_what_failed(tmp_path):
    """The message was "(76721 bytes, expected 76721)" for a flipped bit: a size that matched."""
    s = _store(tmp_path)
    _ok_run_with_sums(s, "a" * 16)
    s.consolidate()
    table = s.root / "tables" / "series.parquet"
    size = table.stat().st_size
    _damage(table)  # same size, one bit
    with pytest.raises(ResultStoreError) as ei:
        load_results(s.root)["series"]
    msg = str(ei.value)
    assert "sha256 checksum differs" in msg and f"same size, {size} bytes" in msg
    assert "expected" not in msg
    s.consolidate()
    table.write_bytes(table.read_bytes()[:-40])
    with pytest.raises(
        ResultStoreError, match=rf"size differs .*\({size - 40} bytes, expected {size}\)"
    ):
        load_results(s.root)["series"]


def test_scan_warns_about_a_deleted_part_naming_run_and_table(tmp_path, caplog):
    s = _store(tmp_path)
    rid = "a" * 16
    _ok_run_with_sums(s, rid)
    s.part_path("series", rid).unlink()
    with caplog.at_level("WARNING", logger="agglomeration"):
        assert s.scan([rid], ["series"]) == {rid: "missing"}
    assert f"run {rid}: its series part is missing" in caplog.text


def test_fake_store_loads_through_load_results(tmp_path):
    root = policy_store(tmp_path, failed=2)
    res = load_results(root)
    assert len(res["runs"]) == 36
    assert (res["runs"]["status"] == "failed").sum() == 2
    assert set(res["series"]["step"]) == set(range(9))
    assert len(res["regions"]) == 34 * len(REGIONS) * len(SECTORS)
