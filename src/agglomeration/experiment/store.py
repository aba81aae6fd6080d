"""The result store of a batch: a directory of Parquet parts plus a manifest, safe against crashes.

Layout (docs/ARCHITECTURE.md, docs/EXPERIMENTS.md)::

    RESULTS/
      manifest.json                 resolved experiment, fingerprint, design, versions, platform, times
      design.parquet                design points (point, parameter columns) - the sample matrix
      plan.parquet                  every planned (variant, point, replicate) -> run_id, seed
      parts/runs/<run_id>.parquet   one row per run (written LAST: it marks the run as finished)
      parts/series/<run_id>.parquet run_id, step, metric columns
      parts/regions/<run_id>.parquet, parts/links/<run_id>.parquet, parts/firms/<run_id>.parquet
      tables/<table>.parquet        consolidated copies, written when every planned run has finished
      sessions/<time>-<pid>.json    one record per `batch` invocation (host, shard, counts, times)

Every file is written to a temporary name in its final directory, flushed to disk and ``os.replace``\\ d, so
a reader (or a resumed batch) sees either the whole file or nothing.  A part that is nevertheless
unreadable (a torn copy, a full disk) is detected by :meth:`ResultStore.scan` and its run is redone.

Why one file per run: workers write their own results without locks or a coordinator, a crash loses at
most the runs in flight, and resume only needs a directory listing.  ``tables/`` gives analysis tools one
file per table once the batch is complete.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from agglomeration.errors import ResultStoreError

__all__ = [
    "FORMAT",
    "TABLES",
    "ResultStore",
    "Results",
    "atomic_write_bytes",
    "environment_info",
    "load_results",
]

FORMAT = "agglomeration-results/1"
#: rows gathered from parts before one row group of a consolidated table is written
ROW_GROUP_ROWS = 65_536
#: per-run tables, in the order they are written (``runs`` last)
TABLES = ("series", "regions", "links", "firms", "runs")
_DEPENDENCIES = (
    "agglomeration",
    "numpy",
    "numba",
    "llvmlite",
    "scipy",
    "pandas",
    "mesa",
    "pyarrow",
    "pydantic",
    "SALib",
    "networkx",
    "dask",
    "distributed",
    "dask-jobqueue",
)


def utc_now() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fsync_replace(tmp: Path, final: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)


def _tmp_name(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same directory + ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        tmp.write_bytes(data)
        _fsync_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_table(path: Path, table: pa.Table) -> None:
    """Write a Parquet file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        pq.write_table(table, tmp, compression="zstd")
        _fsync_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _git_revision() -> str | None:
    """The git commit of the package source, when it is a checkout (no subprocess: read .git)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        head = parent / ".git" / "HEAD"
        if head.is_file():
            try:
                ref = head.read_text().strip()
                if ref.startswith("ref: "):
                    ref_file = parent / ".git" / ref[5:]
                    if ref_file.is_file():
                        return ref_file.read_text().strip()
                    packed = parent / ".git" / "packed-refs"
                    if packed.is_file():
                        for line in packed.read_text().splitlines():
                            if line.endswith(ref[5:]):
                                return line.split()[0]
                    return None
                return ref
            except OSError:
                return None
    return None


def environment_info() -> dict[str, Any]:
    """Package and dependency versions, python, platform and host (for the manifest)."""
    versions: dict[str, str | None] = {}
    for name in _DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "versions": versions,
        "git_revision": _git_revision(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "host": socket.gethostname(),
        "cpu_count": os.cpu_count(),
    }


def _flatten_identity(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flatten_identity(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
        for i, v in enumerate(d):
            name = v.get("name", i) if isinstance(v, dict) else i
            out.update(_flatten_identity(v, f"{prefix}[{name}]"))
    else:
        out[prefix] = d
    return out


def describe_changes(old: dict[str, Any], new: dict[str, Any], limit: int = 6) -> str:
    """Human-readable list of differences between two experiment identities."""
    a, b = _flatten_identity(old), _flatten_identity(new)
    diffs = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            diffs.append(f"{key}: {a.get(key, '<absent>')!r} -> {b.get(key, '<absent>')!r}")
    more = f" (and {len(diffs) - limit} more)" if len(diffs) > limit else ""
    return "; ".join(diffs[:limit]) + more


class ResultStore:
    """A result directory (see the module docstring).  Cheap to create; touches nothing until written."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # ---------------------------------------------------------------- paths
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def part_dir(self, table: str) -> Path:
        return self.root / "parts" / table

    def part_path(self, table: str, run_id: str) -> Path:
        return self.part_dir(table) / f"{run_id}.parquet"

    # ---------------------------------------------------------------- manifest, plan, design
    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None when the directory has none; ResultStoreError when unreadable."""
        if not self.manifest_path.exists():
            return None
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ResultStoreError(f"unreadable manifest: {exc}", file=self.manifest_path) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ResultStoreError(
                f"not an agglomeration result directory (manifest format {data.get('format')!r}, "
                f"expected {FORMAT!r})",
                file=self.manifest_path,
            )
        return data

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_bytes(
            self.manifest_path,
            json.dumps(manifest, indent=2, sort_keys=False, default=str).encode(),
        )

    def write_frame(self, name: str, frame: pd.DataFrame) -> None:
        """Write a top-level table (``plan``, ``design``) atomically."""
        atomic_write_table(
            self.root / f"{name}.parquet", pa.Table.from_pandas(frame, preserve_index=False)
        )

    def read_frame(self, name: str) -> pd.DataFrame | None:
        path = self.root / f"{name}.parquet"
        if not path.exists():
            return None
        try:
            return pq.read_table(path).to_pandas()
        except (OSError, pa.ArrowException) as exc:
            raise ResultStoreError(f"unreadable table: {exc}", file=path) from None

    def write_session(self, record: dict[str, Any]) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.root / "sessions" / f"{stamp}-{socket.gethostname()}-{os.getpid()}.json"
        atomic_write_bytes(path, json.dumps(record, indent=2, default=str).encode())
        return path

    # ---------------------------------------------------------------- parts
    def write_part(self, table: str, run_id: str, frame: pd.DataFrame) -> None:
        """Atomically write one run's part of ``table``."""
        atomic_write_table(
            self.part_path(table, run_id), pa.Table.from_pandas(frame, preserve_index=False)
        )

    def remove_parts(self, run_id: str) -> None:
        """Delete every part of a run (before it is redone)."""
        for table in TABLES:
            self.part_path(table, run_id).unlink(missing_ok=True)

    def listed(self, table: str) -> set[str]:
        """Run ids with a (complete, renamed) part of ``table``; temp files are ignored."""
        d = self.part_dir(table)
        if not d.is_dir():
            return set()
        return {
            e.name[: -len(".parquet")]
            for e in os.scandir(d)
            if e.name.endswith(".parquet") and not e.name.startswith(".")
        }

    def read_run_row(self, run_id: str) -> dict[str, Any] | None:
        """The runs-part row of ``run_id``; None when missing or unreadable (corrupt / truncated)."""
        path = self.part_path("runs", run_id)
        try:
            t = pq.read_table(path, use_threads=False)
        except FileNotFoundError:
            return None
        except (OSError, pa.ArrowException):
            return None
        if t.num_rows != 1 or "status" not in t.column_names:
            return None
        return t.to_pylist()[0]

    @staticmethod
    def part_ok(path: Path) -> bool:
        """True when ``path`` is a readable Parquet file (footer and schema intact)."""
        try:
            pq.read_metadata(path)
            return True
        except (OSError, pa.ArrowException):
            return False

    def scan(self, run_ids: Iterable[str], required: Iterable[str]) -> dict[str, str]:
        """Status of each run: ``ok``, ``failed``, ``missing`` or ``corrupt``.

        ``ok`` needs a readable runs part with status ok *and* a readable part of every ``required``
        table.  Corrupt parts are reported (not deleted) so the runner can redo the run.
        """
        required = tuple(t for t in required if t != "runs")
        have_runs = self.listed("runs")
        have = {t: self.listed(t) for t in required}
        out: dict[str, str] = {}
        for rid in run_ids:
            if rid not in have_runs:
                out[rid] = "missing"
                continue
            row = self.read_run_row(rid)
            if row is None:
                out[rid] = "corrupt"
                continue
            if row["status"] != "ok":
                out[rid] = "failed"
                continue
            status = "ok"
            for t in required:
                if rid not in have[t]:
                    status = "missing"
                    break
                if not self.part_ok(self.part_path(t, rid)):
                    status = "corrupt"
                    break
            out[rid] = status
        return out

    def clean_temp_files(self, older_than_s: float = 3600.0) -> int:
        """Remove temp files left by killed writers (older than ``older_than_s`` seconds)."""
        n = 0
        now = time.time()
        for d in [self.root, self.root / "tables", *(self.part_dir(t) for t in TABLES)]:
            if not d.is_dir():
                continue
            for e in os.scandir(d):
                if e.name.startswith(".") and e.name.endswith(".tmp"):
                    try:
                        if now - e.stat().st_mtime > older_than_s:
                            os.unlink(e.path)
                            n += 1
                    except FileNotFoundError:
                        pass
        return n

    # ---------------------------------------------------------------- consolidation
    def _ordered_ids(self, table: str) -> list[str]:
        present = self.listed(table)
        plan = self.read_frame("plan")
        order: list[str] = []
        seen: set[str] = set()
        if plan is not None and "run_id" in plan:
            for rid in plan["run_id"]:
                if rid in present and rid not in seen:
                    order.append(rid)
                    seen.add(rid)
        order.extend(sorted(present - seen))
        return order

    def iter_part_tables(self, table: str, run_ids: list[str] | None = None) -> Iterator[pa.Table]:
        """Yield the readable parts of ``table`` one at a time (plan order)."""
        for rid in run_ids if run_ids is not None else self._ordered_ids(table):
            try:
                yield pq.read_table(self.part_path(table, rid), use_threads=False)
            except (OSError, pa.ArrowException):
                continue

    def consolidate(self) -> dict[str, int]:
        """Write ``tables/<table>.parquet`` from the parts, streaming one part at a time.

        Parts of different runs may differ in columns (a failed run has no metrics) or integer/float
        types; the consolidated schema is their permissive union.  Returns rows written per table.
        """
        counts: dict[str, int] = {}
        index: dict[str, Any] = {"runs": {}}
        for table in TABLES:
            ids = self._ordered_ids(table)
            if not ids:
                continue
            schema: pa.Schema | None = None
            good: list[str] = []
            for rid in ids:  # one schema in memory at a time: the running permissive union
                try:
                    part_schema = pq.read_schema(self.part_path(table, rid)).remove_metadata()
                except (OSError, pa.ArrowException):
                    continue
                good.append(rid)
                schema = (
                    part_schema
                    if schema is None
                    else pa.unify_schemas([schema, part_schema], promote_options="permissive")
                )
            if schema is None:
                continue
            final = self.root / "tables" / f"{table}.parquet"
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = _tmp_name(final)
            n = 0
            buffer: list[pa.Table] = []
            buffered = 0
            try:
                with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                    for t in self.iter_part_tables(table, good):
                        t = t.replace_schema_metadata(None)
                        for f in schema:
                            if f.name not in t.column_names:
                                t = t.append_column(f.name, pa.nulls(t.num_rows, type=f.type))
                        buffer.append(t.select(schema.names).cast(schema))
                        buffered += t.num_rows
                        if buffered >= ROW_GROUP_ROWS:  # few large row groups, bounded memory
                            writer.write_table(pa.concat_tables(buffer))
                            n += buffered
                            buffer, buffered = [], 0
                    if buffer:
                        writer.write_table(pa.concat_tables(buffer))
                        n += buffered
                _fsync_replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
            counts[table] = n
        for rid in self.listed("runs"):
            try:
                index["runs"][rid] = self.part_path("runs", rid).stat().st_mtime_ns
            except FileNotFoundError:
                pass
        index["written_at"] = utc_now()
        atomic_write_bytes(self.root / "tables" / "_index.json", json.dumps(index).encode())
        return counts

    def consolidated_fresh(self) -> bool:
        """True when ``tables/`` reflects exactly the current runs parts."""
        path = self.root / "tables" / "_index.json"
        if not path.exists():
            return False
        try:
            index = json.loads(path.read_text())["runs"]
        except (OSError, json.JSONDecodeError, KeyError):
            return False
        present = self.listed("runs")
        if set(index) != present:
            return False
        for rid in present:
            try:
                if self.part_path("runs", rid).stat().st_mtime_ns != index[rid]:
                    return False
            except FileNotFoundError:
                return False
        return True


class Results(Mapping[str, pd.DataFrame]):
    """Lazy mapping of table name -> pandas DataFrame of a result directory.

    Keys: ``runs``, ``series``, ``regions`` (always, possibly empty), ``links`` and ``firms`` when
    present, plus ``plan`` and ``design``.  ``manifest`` is the parsed manifest.json.  Frames are read
    on first access (from ``tables/`` when it is up to date, otherwise concatenated from the parts).
    """

    def __init__(self, store: ResultStore, manifest: dict[str, Any]):
        self.store = store
        self.manifest = manifest
        self._fresh = store.consolidated_fresh()
        self._cache: dict[str, pd.DataFrame] = {}
        keys = ["runs", "series", "regions"]
        keys += [t for t in ("links", "firms") if store.listed(t)]
        keys += [t for t in ("plan", "design") if (store.root / f"{t}.parquet").exists()]
        self._keys = keys

    def __getitem__(self, key: str) -> pd.DataFrame:
        if key not in self._keys:
            raise KeyError(key)
        if key not in self._cache:
            self._cache[key] = self._load(key)
        return self._cache[key]

    def _load(self, key: str) -> pd.DataFrame:
        if key in ("plan", "design"):
            return self.store.read_frame(key)  # type: ignore[return-value]
        table_file = self.store.root / "tables" / f"{key}.parquet"
        if self._fresh and table_file.exists():
            return pq.read_table(table_file).to_pandas()
        parts = [t.replace_schema_metadata(None) for t in self.store.iter_part_tables(key)]
        if not parts:
            return pd.DataFrame({"run_id": pd.Series([], dtype=str)})
        table = pa.concat_tables(parts, promote_options="permissive")
        return table.to_pandas()

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"Results({str(self.store.root)!r}, tables={self._keys})"


def load_results(directory: str | Path) -> Results:
    """Open a result directory written by ``agglomeration batch`` / :func:`run_experiment`.

    Returns a :class:`Results` mapping of pandas frames (``runs``, ``series``, ``regions``, and
    ``links``/``firms`` when present, ``plan``, ``design``).  Raises ResultStoreError when the directory
    is not a result store.
    """
    store = ResultStore(directory)
    if not store.root.is_dir():
        raise ResultStoreError("result directory not found", file=str(directory))
    manifest = store.read_manifest()
    if manifest is None:
        raise ResultStoreError("no manifest.json: not a result directory", file=str(directory))
    return Results(store, manifest)
