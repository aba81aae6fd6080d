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
      _COMPLETE.json                completion marker: written last, lists files with size and sha256
      .lock                         held (flock) by the batch writing into the directory

Every file is written to a temporary name in its final directory, flushed to disk and ``os.replace``\\ d, so
a reader (or a resumed batch) sees either the whole file or nothing.  Content is verified, not only
metadata: every Parquet page carries a CRC, and the runs part of a run (written last) records the size
and sha256 of the run's other parts in its schema metadata.  A part that is nevertheless damaged (a torn
copy, a flipped bit, a full disk) is detected by :meth:`ResultStore.scan` and its run is redone; a reader
(:func:`load_results`, consolidation) that meets one raises :class:`ResultStoreError` instead of skipping
it.

Why one file per run: workers write their own results without locks or a coordinator, a crash loses at
most the runs in flight, and resume only needs a directory listing.  ``tables/`` gives analysis tools one
file per table once the batch is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
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

try:  # POSIX advisory locks; elsewhere the store is not locked (documented)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "COMPLETE_MARKER",
    "FORMAT",
    "TABLES",
    "ResultStore",
    "Results",
    "atomic_write_bytes",
    "environment_info",
    "file_digest",
    "load_results",
]

log = logging.getLogger(__name__)

FORMAT = "agglomeration-results/1"
#: (key, accepted types, what is expected) of the manifest's structured entries that readers index
MANIFEST_SHAPE: tuple[tuple[str, type | tuple[type, ...], str], ...] = (
    ("experiment", dict, "an object (the resolved experiment)"),
    ("design", (dict, type(None)), "an object or null"),
    ("identity", dict, "an object"),
    ("environment", dict, "an object"),
    ("metrics", dict, "an object"),
    ("counts", dict, "an object"),
    ("required_tables", list, "a list"),
)
#: rows gathered from parts before one row group of a consolidated table is written
ROW_GROUP_ROWS = 65_536
#: per-run tables, in the order they are written (``runs`` last)
TABLES = ("series", "regions", "links", "firms", "runs")
#: completion marker, written last into a finished store (a batch or a single run)
COMPLETE_MARKER = "_COMPLETE.json"
#: schema-metadata key of a runs part: ``{table: {"bytes": n, "sha256": hex}}`` of the run's other parts
PARTS_KEY = b"agglomeration.parts"
#: the logistics table of a one-run store (written by ``agglomeration run``)
LOGISTICS_FILE = "logistics.csv"
#: lock file held by the process writing into a store
LOCK_FILE = ".lock"
#: read buffer for hashing files [bytes]
_CHUNK = 1 << 20
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


def file_digest(path: str | Path) -> dict[str, Any]:
    """``{"bytes": size, "sha256": hex}`` of a file's content (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            n += len(chunk)
    return {"bytes": n, "sha256": h.hexdigest()}


def _why(exc: BaseException) -> str:
    """A read error for a message: our own checksum mismatch as is, others with their type."""
    if type(exc) is ValueError:
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _digest_matches(path: Path, expected: Mapping[str, Any]) -> bool:
    try:
        if path.stat().st_size != expected.get("bytes"):
            return False
        return file_digest(path)["sha256"] == expected.get("sha256")
    except OSError:
        return False


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same directory + ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        with open(tmp, "xb") as fh:  # a new file: never follows a planted link
            fh.write(data)
        _fsync_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_table(path: Path, table: pa.Table) -> dict[str, Any]:
    """Write a Parquet file atomically (page CRCs on); returns its :func:`file_digest`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        pq.write_table(table, tmp, compression="zstd", write_page_checksum=True)
        digest = file_digest(tmp)
        _fsync_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return digest


def read_parquet_verified(path: Path, expected: Mapping[str, Any] | None = None) -> pa.Table:
    """Read a whole Parquet file, checking its page CRCs and, when given, its size and sha256.

    Raises OSError / ``pa.ArrowException`` / :class:`ValueError` (digest mismatch) when damaged."""
    data = path.read_bytes()
    if expected is not None:
        if len(data) != expected.get("bytes"):
            raise ValueError(
                f"its size differs from the one recorded when it was written "
                f"({len(data)} bytes, expected {expected.get('bytes')})"
            )
        if hashlib.sha256(data).hexdigest() != expected.get("sha256"):
            raise ValueError(
                f"its sha256 checksum differs from the one recorded when it was written "
                f"(same size, {len(data)} bytes)"
            )
    return pq.read_table(pa.BufferReader(data), use_threads=False, page_checksum_verification=True)


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


def stored_model_revision(manifest: dict[str, Any]) -> int:
    """The model revision (``agglomeration.MODEL_REVISION``) a manifest's results were computed with;
    0 for results written before revisions were recorded (2026-12-07)."""
    revision = (manifest.get("environment") or {}).get("model_revision", 0)
    return revision if isinstance(revision, int) and not isinstance(revision, bool) else 0


def environment_info() -> dict[str, Any]:
    """Package and dependency versions, the model revision, python, platform and host (for the
    manifest)."""
    versions: dict[str, str | None] = {}
    for name in _DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    from agglomeration import MODEL_REVISION

    return {
        "versions": versions,
        "model_revision": MODEL_REVISION,
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

    def same(x: Any, y: Any) -> bool:  # as the fingerprint sees them (300 and 300.0 differ)
        return json.dumps(x, sort_keys=True, default=str) == json.dumps(
            y, sort_keys=True, default=str
        )

    for key in sorted(set(a) | set(b)):
        if not same(a.get(key, "<absent>"), b.get(key, "<absent>")):
            diffs.append(f"{key}: {a.get(key, '<absent>')!r} -> {b.get(key, '<absent>')!r}")
    if not diffs and not same(old, new):  # e.g. a reordered list: name the top-level fields
        for key in sorted(set(old) | set(new)):
            if not same(old.get(key), new.get(key)):
                diffs.append(f"{key} changed")
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
        except (OSError, ValueError) as exc:  # ValueError: bad JSON, or bytes that are not UTF-8
            raise ResultStoreError(f"unreadable manifest: {exc}", file=self.manifest_path) from None
        if not isinstance(data, dict):
            raise ResultStoreError(
                f"not an agglomeration result directory (the manifest is a JSON "
                f"{type(data).__name__}, expected an object with format {FORMAT!r})",
                file=self.manifest_path,
            )
        if data.get("format") != FORMAT:
            raise ResultStoreError(
                f"not an agglomeration result directory (manifest format {data.get('format')!r}, "
                f"expected {FORMAT!r})",
                file=self.manifest_path,
            )
        for key, kinds, what in MANIFEST_SHAPE:
            if key in data and not isinstance(data[key], kinds):
                raise ResultStoreError(
                    f"damaged manifest: {key!r} is a JSON {type(data[key]).__name__}, expected {what}",
                    file=self.manifest_path,
                    field=key,
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
            return read_parquet_verified(path).to_pandas()
        except (OSError, pa.ArrowException) as exc:
            raise ResultStoreError(f"unreadable table: {exc}", file=path) from None

    def write_session(self, record: dict[str, Any]) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.root / "sessions" / f"{stamp}-{socket.gethostname()}-{os.getpid()}.json"
        atomic_write_bytes(path, json.dumps(record, indent=2, default=str).encode())
        return path

    # ---------------------------------------------------------------- parts
    def write_part(
        self,
        table: str,
        run_id: str,
        frame: pd.DataFrame,
        *,
        checksums: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Atomically write one run's part of ``table``; returns its size and sha256.

        ``checksums`` (for the ``runs`` part, written last) records the digests of the run's other
        parts in the part's schema metadata, so a later scan can verify them by content."""
        t = pa.Table.from_pandas(frame, preserve_index=False)
        if checksums is not None:
            meta = dict(t.schema.metadata or {})
            meta[PARTS_KEY] = json.dumps(dict(checksums), sort_keys=True).encode()
            t = t.replace_schema_metadata(meta)
        return atomic_write_table(self.part_path(table, run_id), t)

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

    def run_record(self, run_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(runs-part row, recorded checksums of the run's other parts) of ``run_id``; None when the
        runs part is missing or damaged (unreadable, page CRC mismatch, not one row with a status)."""
        path = self.part_path("runs", run_id)
        try:
            t = read_parquet_verified(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, pa.ArrowException):
            return None
        if t.num_rows != 1 or "status" not in t.column_names:
            return None
        raw = (t.schema.metadata or {}).get(PARTS_KEY)
        try:
            sums = json.loads(raw) if raw else {}
        except ValueError:
            return None
        return t.to_pylist()[0], sums if isinstance(sums, dict) else {}

    def read_run_row(self, run_id: str) -> dict[str, Any] | None:
        """The runs-part row of ``run_id``; None when missing or unreadable (corrupt / truncated)."""
        rec = self.run_record(run_id)
        return None if rec is None else rec[0]

    @staticmethod
    def part_ok(path: Path) -> bool:
        """True when ``path`` is a readable Parquet file (footer and schema intact)."""
        try:
            pq.read_metadata(path)
            return True
        except (OSError, pa.ArrowException):
            return False

    @staticmethod
    def part_intact(path: Path, expected: Mapping[str, Any] | None) -> bool:
        """True when the part's content matches ``expected`` (size + sha256, recorded when it was
        written) or, for parts written without a checksum, when the whole file reads back."""
        if expected:
            return _digest_matches(path, expected)
        try:
            read_parquet_verified(path)
            return True
        except (OSError, ValueError, pa.ArrowException):
            return False

    def read_part(
        self, table: str, run_id: str, expected: Mapping[str, Any] | None = None
    ) -> pa.Table:
        """One verified part; :class:`ResultStoreError` (naming the file and the run) when damaged."""
        path = self.part_path(table, run_id)
        try:
            return read_parquet_verified(path, expected)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise ResultStoreError(
                f"damaged part of run {run_id} ({_why(exc)}); resume the batch "
                "(`agglomeration batch EXPERIMENT --out DIR --resume`) to redo the run",
                file=str(path),
            ) from None

    def scan(self, run_ids: Iterable[str], required: Iterable[str]) -> dict[str, str]:
        """Status of each run: ``ok``, ``failed``, ``interrupted``, ``missing`` or ``corrupt``.

        ``ok`` needs an intact runs part with status ok *and* an intact part of every ``required``
        table (verified by content: the sha256 recorded in the runs part, or a full read for parts of
        older stores).  Damaged parts are reported (not deleted) so the runner can redo the run.
        """
        required = tuple(t for t in required if t != "runs")
        have_runs = self.listed("runs")
        have = {t: self.listed(t) for t in required}
        out: dict[str, str] = {}
        for rid in run_ids:
            if rid not in have_runs:
                out[rid] = "missing"
                continue
            rec = self.run_record(rid)
            if rec is None:
                log.warning("run %s: its runs part is damaged; the run will be redone", rid)
                out[rid] = "corrupt"
                continue
            row, sums = rec
            if row["status"] != "ok":
                out[rid] = "interrupted" if row["status"] == "interrupted" else "failed"
                continue
            status = "ok"
            for t in required:
                if rid not in have[t]:  # deleted after the run finished ok
                    log.warning(
                        "run %s: its %s part is missing (%s); the run will be redone",
                        rid,
                        t,
                        self.part_path(t, rid),
                    )
                    status = "missing"
                    break
                if not self.part_intact(self.part_path(t, rid), sums.get(t)):
                    log.warning(
                        "run %s: its %s part is damaged (content does not match the checksum "
                        "recorded when it was written); the run will be redone",
                        rid,
                        t,
                    )
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
                            log.info(
                                "removed a temporary file left by a stopped writer: %s", e.path
                            )
                            n += 1
                    except FileNotFoundError:
                        pass
        return n

    # ---------------------------------------------------------------- consolidation
    def _ordered_ids(self, present: set[str]) -> list[str]:
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

    def finished_runs(self) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """(run ids with a runs part in plan order, recorded part checksums of the *ok* runs).

        Raises ResultStoreError naming the file when a runs part is damaged (never skipped)."""
        ids = self._ordered_ids(self.listed("runs"))
        ok: dict[str, dict[str, Any]] = {}
        for rid in ids:
            rec = self.run_record(rid)
            if rec is None:
                self.read_part("runs", rid)  # raises, naming the file and the damage
                raise ResultStoreError(  # a readable file that is not one run row
                    f"damaged runs part of run {rid} (expected one row with a status); resume "
                    "the batch to redo the run",
                    file=str(self.part_path("runs", rid)),
                )
            if rec[0]["status"] == "ok":
                ok[rid] = rec[1]
        return ids, ok

    def iter_part_tables(
        self, table: str, run_ids: list[str] | None = None, checksums: Mapping | None = None
    ) -> Iterator[pa.Table]:
        """Yield the verified parts of ``table`` one at a time (plan order; default every ok run).

        A damaged part raises :class:`ResultStoreError`; it is never skipped."""
        if run_ids is None:
            ids, ok = self.finished_runs()
            run_ids = ids if table == "runs" else [r for r in ids if r in ok]
            checksums = ok
        present = self.listed(table)
        for rid in run_ids:
            expected = (checksums or {}).get(rid, {}).get(table) if table != "runs" else None
            if rid not in present:
                if expected is not None:  # the run wrote this part: it was deleted since
                    raise ResultStoreError(
                        f"the {table} part of run {rid} is missing although the run finished "
                        "and recorded it; resume the batch (--resume) to redo that run",
                        file=str(self.part_path(table, rid)),
                    )
                continue
            yield self.read_part(table, rid, expected)

    def consolidate(self) -> dict[str, int]:
        """Write ``tables/<table>.parquet`` from the parts, streaming one part at a time.

        ``runs`` holds every finished run (ok and failed); the other tables hold the parts of the ok
        runs only, each verified against the checksum recorded when it was written.  A damaged part
        raises :class:`ResultStoreError` (the batch must be resumed to redo that run) instead of
        being left out.  Parts of different runs may differ in columns (a failed run has no
        metrics) or integer/float types; the consolidated schema is their permissive union.  Returns
        rows written per table.
        """
        ids, ok = self.finished_runs()
        counts: dict[str, int] = {}
        index: dict[str, Any] = {"runs": {}, "tables": {}}
        for table in TABLES:
            present = self.listed(table)
            chosen = [r for r in ids if r in present and (table == "runs" or r in ok)]
            if not chosen:
                continue
            schema: pa.Schema | None = None
            for rid in chosen:  # one schema in memory at a time: the running permissive union
                try:
                    part_schema = pq.read_schema(self.part_path(table, rid)).remove_metadata()
                except (OSError, pa.ArrowException):
                    self.read_part(table, rid)  # raises, naming the damaged file
                    raise
                schema = (
                    part_schema
                    if schema is None
                    else pa.unify_schemas([schema, part_schema], promote_options="permissive")
                )
            assert schema is not None
            final = self.root / "tables" / f"{table}.parquet"
            counts[table] = self._write_consolidated(final, schema, table, chosen, ok)
            index["tables"][table] = file_digest(final)
        for rid in self.listed("runs"):
            try:
                index["runs"][rid] = self.part_path("runs", rid).stat().st_mtime_ns
            except FileNotFoundError:
                pass
        index["written_at"] = utc_now()
        atomic_write_bytes(self.root / "tables" / "_index.json", json.dumps(index).encode())
        log.info(
            "consolidated tables/: %s",
            ", ".join(f"{t} {n:,} rows" for t, n in counts.items()) or "no tables",
        )
        return counts

    def _write_consolidated(
        self, final: Path, schema: pa.Schema, table: str, ids: list[str], ok: Mapping
    ) -> int:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = _tmp_name(final)
        n = 0
        buffer: list[pa.Table] = []
        buffered = 0
        try:
            with pq.ParquetWriter(
                tmp, schema, compression="zstd", write_page_checksum=True
            ) as writer:
                for t in self.iter_part_tables(table, ids, ok):
                    t = t.replace_schema_metadata(None)
                    have = set(t.column_names)  # (a fresh list of names on every access)
                    for f in schema:
                        if f.name not in have:
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
        return n

    def _index(self) -> dict[str, Any] | None:
        path = self.root / "tables" / "_index.json"
        try:
            index = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return index if isinstance(index, dict) and isinstance(index.get("runs"), dict) else None

    def consolidated_fresh(self) -> bool:
        """True when ``tables/`` reflects exactly the current runs parts."""
        index = self._index()
        if index is None:
            return False
        runs = index["runs"]
        present = self.listed("runs")
        if set(runs) != present:
            return False
        for rid in present:
            try:
                if self.part_path("runs", rid).stat().st_mtime_ns != runs[rid]:
                    return False
            except FileNotFoundError:
                return False
        return True

    def read_consolidated(self, table: str) -> pa.Table:
        """A consolidated table, verified against the checksum recorded when it was written."""
        path = self.root / "tables" / f"{table}.parquet"
        expected = ((self._index() or {}).get("tables") or {}).get(table)
        try:
            return read_parquet_verified(path, expected)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise ResultStoreError(
                f"damaged consolidated table ({_why(exc)}); rerun the batch with "
                "--resume into this directory to rebuild tables/ from the parts",
                file=str(path),
            ) from None

    # ---------------------------------------------------------------- completion marker
    @property
    def marker_path(self) -> Path:
        return self.root / COMPLETE_MARKER

    def write_completion(self, kind: str, status: str, files: Iterable[str]) -> dict[str, Any]:
        """Write the completion marker (last): ``kind`` (batch / run), ``status`` and the size and
        sha256 of every listed file (paths relative to the store)."""
        listing = {rel: file_digest(self.root / rel) for rel in sorted(set(files))}
        marker = {
            "format": FORMAT,
            "kind": kind,
            "status": status,
            "written_at": utc_now(),
            "files": listing,
        }
        atomic_write_bytes(self.marker_path, json.dumps(marker, indent=2).encode())
        return marker

    def clear_completion(self) -> None:
        """Remove the completion marker (the store is about to change)."""
        self.marker_path.unlink(missing_ok=True)

    def completion(self) -> dict[str, Any] | None:
        """The parsed completion marker, or None when the store is not (or not yet) complete."""
        try:
            data = json.loads(self.marker_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None

    def verify_completion(self) -> list[str]:
        """Problems found checking the files listed in the completion marker (empty: all intact)."""
        marker = self.completion()
        if marker is None:
            return [f"no readable {COMPLETE_MARKER}: the output is incomplete"]
        problems = []
        for rel, expected in marker["files"].items():
            path = self.root / rel
            if not path.is_file() or path.is_symlink():
                problems.append(f"{rel}: missing")
            elif not _digest_matches(path, expected):
                problems.append(f"{rel}: content changed since it was written")
        return problems

    # ---------------------------------------------------------------- writer lock
    @contextlib.contextmanager
    def lock(self, shard: tuple[int, int] | None = None) -> Iterator[None]:
        """Hold the store's writer lock (``flock`` on ``.lock``; released when the process dies).

        A batch holds it exclusively; shards of one batch hold it shared (they may run side by side)
        and their own shard lock exclusively.  Raises ResultStoreError when another process holds
        a conflicting lock."""
        if fcntl is None:  # pragma: no cover - no advisory locks on this platform
            yield
            return
        held: list[Any] = []
        try:
            main_mode = fcntl.LOCK_SH if shard is not None else fcntl.LOCK_EX
            try:
                held.append(self._acquire(self.root / LOCK_FILE, main_mode, shard))
                if shard is not None:
                    name = f"{LOCK_FILE}-shard-{shard[0]}-of-{shard[1]}"
                    held.append(self._acquire(self.root / name, fcntl.LOCK_EX, shard))
            except ResultStoreError:
                raise
            except OSError as exc:  # a file system without flock (e.g. Lustre mounted noflock)
                log.warning(
                    "cannot lock %s (%s): a second batch writing into it at the same time would "
                    "not be detected",
                    self.root,
                    exc.strerror or exc,
                )
            yield
        finally:
            for i, fh in reversed(list(enumerate(held))):
                with contextlib.suppress(OSError):
                    if i > 0 or shard is None:  # ours alone: clear the owner before unlocking
                        fh.truncate(0)
                        fh.flush()
                    fh.close()

    def _acquire(self, path: Path, mode: int, shard: tuple[int, int] | None) -> Any:
        fh = open(path, "a+")  # kept open while the lock is held
        try:
            fcntl.flock(fh.fileno(), mode | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise ResultStoreError(
                f"another `agglomeration batch` is writing into this directory ({self._owner()}); "
                "wait for it to finish, or use a different --out"
                + ("" if shard is None else " (shards of one batch may run side by side)"),
                file=str(self.root),
                field="--out",
            ) from None
        if mode == fcntl.LOCK_EX:
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": utc_now(),
                "shard": list(shard) if shard else None,
            }
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps(info))
            fh.flush()
        return fh

    def _owner(self) -> str:
        """Who holds the lock, from the lock files' content (best effort)."""
        owners = []
        for path in sorted(self.root.glob(f"{LOCK_FILE}*")):
            try:
                info = json.loads(path.read_text() or "null")
            except (OSError, ValueError):
                continue
            if isinstance(info, dict) and self._is_locked(path):
                shard = (
                    f", shard {info['shard'][0]}/{info['shard'][1]}" if info.get("shard") else ""
                )
                owners.append(
                    f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}{shard}"
                )
        return "; ".join(owners) or "a running batch"

    @staticmethod
    def _is_locked(path: Path) -> bool:
        if fcntl is None:  # pragma: no cover
            return False
        try:
            with open(path, "a+") as fh:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
                return False
        except OSError:
            return False

    def active_writer(self) -> str | None:
        """A description of the process writing into this store (a running batch), or None."""
        path = self.root / LOCK_FILE
        if not path.exists() or not self._is_locked(path):
            return None
        return self._owner()


class Results(Mapping[str, pd.DataFrame]):
    """Lazy mapping of table name -> pandas DataFrame of a result directory.

    Keys: ``runs``, ``series``, ``regions`` (always, possibly empty), ``links`` and ``firms`` when
    present, plus ``plan`` and ``design``, and ``logistics`` for a one-run store of ``agglomeration
    run`` (its ``logistics.csv``: :func:`agglomeration.logistics_outcomes.logistics_table`, with the
    run's ``run_id``).  ``manifest`` is the parsed manifest.json.  Frames are read
    on first access (from ``tables/`` when it is up to date, otherwise concatenated from the parts of
    the finished runs: ``runs`` from every runs part, the other tables from the ok runs).  Every file
    is verified by content; a damaged one raises :class:`ResultStoreError` naming it.
    """

    def __init__(self, store: ResultStore, manifest: dict[str, Any]):
        self.store = store
        self.manifest = manifest
        self._fresh = store.consolidated_fresh()
        self._cache: dict[str, pd.DataFrame] = {}
        self._finished: tuple[list[str], dict[str, dict[str, Any]]] | None = None
        keys = ["runs", "series", "regions"]
        keys += [t for t in ("links", "firms") if store.listed(t)]
        keys += [t for t in ("plan", "design") if (store.root / f"{t}.parquet").exists()]
        if manifest.get("kind") == "run" and (store.root / LOGISTICS_FILE).is_file():
            keys.append("logistics")
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
        if key == "logistics":
            return self._logistics()
        table_file = self.store.root / "tables" / f"{key}.parquet"
        if self._fresh and table_file.exists():
            return self.store.read_consolidated(key).to_pandas()
        if self._finished is None:
            self._finished = self.store.finished_runs()
        ids, ok = self._finished
        chosen = ids if key == "runs" else [r for r in ids if r in ok]
        parts = [
            t.replace_schema_metadata(None) for t in self.store.iter_part_tables(key, chosen, ok)
        ]
        if not parts:
            return pd.DataFrame({"run_id": pd.Series([], dtype=str)})
        table = pa.concat_tables(parts, promote_options="permissive")
        return table.to_pandas()

    def _logistics(self) -> pd.DataFrame:
        path = self.store.root / LOGISTICS_FILE
        try:
            # "NA" is a key, not a missing value; empty cells (a share without a denominator) are NaN
            frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
        except (OSError, ValueError) as exc:
            raise ResultStoreError(
                f"cannot read the logistics table: {_why(exc)}", file=path
            ) from None
        run_id = str((self.manifest.get("run") or {}).get("run_id") or "run")
        frame.insert(0, "run_id", run_id)
        return frame

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"Results({str(self.store.root)!r}, tables={self._keys})"


def load_results(directory: str | Path) -> Results:
    """Open a result directory written by ``agglomeration batch`` / :func:`run_experiment` or by
    ``agglomeration run`` (a one-run store).

    Returns a :class:`Results` mapping of pandas frames (``runs``, ``series``, ``regions``, and
    ``links``/``firms`` when present, ``plan``, ``design``).  Raises ResultStoreError when the directory
    is not a result store or a file in it is damaged.
    """
    store = ResultStore(directory)
    if not store.root.is_dir():
        raise ResultStoreError("result directory not found", file=str(directory))
    manifest = store.read_manifest()
    if manifest is None:
        raise ResultStoreError("no manifest.json: not a result directory", file=str(directory))
    return Results(store, manifest)
