"""Where the runs of a batch execute: a local process pool, a Dask cluster or a user's executor.

Each pool wraps a :class:`concurrent.futures.Executor` with what the runner needs beyond it:

- ``capacity()``: how many runs can execute at once (a Dask cluster may grow);
- ``new()``: a fresh executor after a worker process died (``BrokenProcessPool``);
- ``terminate()``: stop *now* (SIGTERM / Ctrl-C): the worker processes are killed instead of finishing
  their runs, so a batch stops within a few seconds; ``close()`` is the orderly shutdown.

Stopping cleanly (docs/RELIABILITY.md):

- workers ignore SIGINT (a Ctrl-C in the terminal reaches the whole process group; the parent decides
  and terminates them), so no worker prints a ``KeyboardInterrupt`` traceback;
- each worker watches its parent process and exits on its own when the parent dies (``kill -9`` of
  the batch, an out-of-memory kill): no worker, forkserver or resource tracker is left behind;
- a signal that arrives while worker processes are being started is held until they have started
  (:func:`interrupts_deferred`), so neither the forkserver nor a half-started worker prints a traceback.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from agglomeration.errors import InputError, ResultStoreError

__all__ = [
    "WORKERS_HELP",
    "DaskPool",
    "ExternalPool",
    "LocalPool",
    "SharedPool",
    "check_scheduler_address",
    "default_workers",
    "interrupts_deferred",
]

log = logging.getLogger(__name__)

#: seconds to wait for a dask scheduler to answer (connect + handshake) before giving up
SCHEDULER_TIMEOUT_S = 30.0
#: seconds a terminated worker process gets before it is killed
TERMINATE_GRACE_S = 2.0
_STOP_SIGNALS = tuple(
    s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s
)
_ADDRESS = re.compile(
    r"^(?:(?P<scheme>tcp|tls|ws|wss|ucx)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(?P<port>\d{1,5})/?$"
)


#: ``--workers`` help of the scripts whose default is :func:`default_workers`
WORKERS_HELP = "worker processes (default: the CPUs this process may use)"


def default_workers() -> int:
    """CPUs this process may run on (the default worker count of batches and scripts):
    ``os.process_cpu_count()`` on Python 3.13+, else the affinity mask where the system has one,
    else ``os.cpu_count()``; at least 1."""
    count = getattr(os, "process_cpu_count", None)
    if count is not None:  # pragma: no cover - Python 3.13+
        return count() or 1
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT / SIGTERM for the duration (worker start-up); a signal that arrived meanwhile is
    re-raised, with the handler that was installed, right after.  A no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        pending.append(signum)

    previous = {s: signal.signal(s, hold) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if pending:
            signal.raise_signal(pending[0])


@contextlib.contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Ignore SIGINT / SIGTERM for the duration (the clean-up after a first stop signal, which takes
    a few seconds at most: a second Ctrl-C must not interrupt it half-way)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# ------------------------------------------------------------------------------------------------
# local process pool
# ------------------------------------------------------------------------------------------------
def _exit_with_parent() -> None:
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - not a multiprocessing child
        return
    from multiprocessing.connection import wait

    wait([parent.sentinel])  # readable (EOF) once the parent process is gone
    os._exit(1)


def worker_init() -> None:
    """Initialiser of every local worker process: ignore SIGINT (the parent handles it), take the
    default action on SIGTERM, exit when the parent process dies, and print warnings on one line."""
    from agglomeration.errors import compact_warnings

    compact_warnings()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()


def _mp_context(start_method: str | None) -> multiprocessing.context.BaseContext:
    if start_method is None:
        start_method = (
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
    ctx = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        # workers fork from a server that has already imported the model stack (fast start-up)
        ctx.set_forkserver_preload(
            ["agglomeration.experiment.execute", "agglomeration.scenario", "agglomeration.model"]
        )
    return ctx


def _start_forkserver() -> None:
    """Start the forkserver with SIGINT ignored: it inherits that disposition, so a Ctrl-C while it
    imports the model stack does not print a traceback (it ignores SIGINT afterwards anyway)."""
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


class LocalPool:
    """ProcessPoolExecutor (recreated after a worker process dies) whose workers can be terminated."""

    def __init__(self, workers: int, start_method: str | None):
        self.workers = workers
        self.ctx = _mp_context(start_method)
        with interrupts_deferred():
            if self.ctx.get_start_method() == "forkserver":
                _start_forkserver()
            self.executor = self.new()

    def new(self) -> cf.Executor:
        self.executor = cf.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=self.ctx, initializer=worker_init
        )
        return self.executor

    def submit(self, fn: Any, *args: Any) -> cf.Future:
        """Submit with stop signals held: a submit may start a worker process."""
        with interrupts_deferred():
            return self.executor.submit(fn, *args)

    def capacity(self) -> int:
        return self.workers

    def terminate(self) -> None:
        """Kill the worker processes now (their runs are lost and recorded as interrupted)."""
        # ProcessPoolExecutor has no public terminate before Python 3.14 (terminate_workers)
        procs = list((getattr(self.executor, "_processes", None) or {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            with contextlib.suppress(Exception):
                p.terminate()
        deadline = time.monotonic() + TERMINATE_GRACE_S
        for p in procs:
            with contextlib.suppress(Exception):
                p.join(max(0.0, deadline - time.monotonic()))
                if p.is_alive():
                    p.kill()
                    p.join(1.0)
        with contextlib.suppress(Exception):
            self.executor.shutdown(wait=True)

    def close(self, wait: bool = True) -> None:
        if not wait:
            self.terminate()
            return
        self.executor.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------------------------------------
# dask
# ------------------------------------------------------------------------------------------------
#: most worker processes a batch or a calibration may ask for
MAX_WORKERS = 4096


def is_whole(x: Any, low: int, high: int) -> bool:
    """``x`` an integer (not a bool, not a float such as 2.0) in ``[low, high]``."""
    return not isinstance(x, bool) and isinstance(x, int | np.integer) and low <= x <= high


def check_workers(workers: Any, *, field: str = "workers") -> None:
    """``workers`` None or an integer from 1 to :data:`MAX_WORKERS`, else InputError naming ``field``."""
    if workers is not None and not is_whole(workers, 1, MAX_WORKERS):
        raise InputError(
            f"expected an integer number of workers >= 1 (at most {MAX_WORKERS}), got {workers!r}",
            field=field,
        )


def check_executor(executor: Any, scheduler: str | None, *, option_prefix: str = "") -> None:
    """``executor`` one of local, dask, serial (or an executor object), and ``scheduler`` only with
    dask and a valid address; else InputError naming ``<option_prefix>executor`` or ``...scheduler``
    (``option_prefix="--"`` for command-line options)."""
    if isinstance(executor, str) and executor not in ("local", "dask", "serial"):
        raise InputError(
            f"expected local, dask or serial, got {executor!r}", field=f"{option_prefix}executor"
        )
    if scheduler is not None:
        if executor != "dask":
            raise InputError(
                f"a scheduler address needs the dask executor (got executor {executor!r})",
                field=f"{option_prefix}scheduler",
            )
        try:
            check_scheduler_address(scheduler)
        except InputError as exc:
            raise InputError(exc.message, field=f"{option_prefix}scheduler") from None


def check_scheduler_address(address: str) -> str:
    """``[tcp|tls|ws|wss|ucx://]host:port`` (port 1-65535) or ``inproc://...``, else InputError
    naming ``--scheduler``."""
    if isinstance(address, str) and re.fullmatch(r"inproc://\S+", address.strip()):
        return address.strip()  # a scheduler in this process (tests, notebooks)
    m = _ADDRESS.fullmatch(address.strip()) if isinstance(address, str) else None
    if m is None or not 1 <= int(m.group("port")) <= 65535:
        raise InputError(
            f"expected a dask scheduler address like tcp://10.0.0.5:8786 (scheme tcp, tls, ws, wss "
            f"or ucx; host; port 1-65535), got {address!r}",
            field="scheduler",
        )
    return address.strip()


def _connect(address: str, timeout: float) -> Any:
    """A ``distributed.Client`` on ``address``, or RuntimeError within ``timeout`` (+ up to 5 s).

    distributed's own timeout does not cover a server that accepts the connection and never answers,
    and another service's reply is read as a dask frame length (MemoryError of some EiB); both become
    one clear message."""
    from distributed import Client

    box: dict[str, Any] = {}

    def connect() -> None:
        try:
            box["client"] = Client(address, timeout=timeout)
        except BaseException as exc:  # reported below
            box["error"] = exc

    thread = threading.Thread(target=connect, name="dask-connect", daemon=True)
    wait = timeout + min(5.0, timeout)  # distributed's own timeout, then a grace period
    thread.start()
    thread.join(wait)
    if "client" in box:
        return box["client"]
    why = (
        f"{type(box['error']).__name__}: {box['error']}"[:200]
        if "error" in box
        else f"no answer within {wait:.0f} s"
    )
    raise RuntimeError(
        f"could not connect to a dask scheduler at {address} ({why}); check the address and that a "
        "dask scheduler (not another service) listens there"
    )


def dask_setup(worker: Any = None) -> None:
    """Dask worker preload (a LocalCluster's workers load this module): the worker process ignores
    SIGINT, so a Ctrl-C to the terminal's process group stops the batch through the parent (which
    stops the cluster) instead of printing a traceback from every worker's event loop; and a lost
    connection to the scheduler is logged in one line (:func:`one_line_comm_errors`)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    one_line_comm_errors()


class _OneLineCommErrors(logging.Filter):
    """Drops the traceback (not the message) of a record whose exception is a closed connection."""

    def __init__(self, closed: tuple[type[BaseException], ...]):
        super().__init__()
        self.closed = closed

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, self.closed):
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


def one_line_comm_errors() -> None:
    """In a LocalCluster worker: a record of ``distributed``'s loggers whose exception is a closed
    connection (``CommClosedError``) is written as one line without its traceback.  Why: when the
    parent stops the batch (Ctrl-C, SIGTERM) it closes the scheduler, and a worker whose heartbeat
    falls in between logged "Failed to communicate with scheduler during heartbeat" with two chained
    tracebacks; the parent reports the stop itself.  Idempotent."""
    try:
        from distributed.comm.core import CommClosedError
    except ImportError:  # pragma: no cover - the dask extra is not installed
        return
    for handler in [*logging.getLogger("distributed").handlers, *logging.getLogger().handlers]:
        if not any(isinstance(f, _OneLineCommErrors) for f in handler.filters):
            handler.addFilter(_OneLineCommErrors((CommClosedError,)))


class DaskPool:
    """``distributed`` executor on a scheduler address, or on a LocalCluster bound to 127.0.0.1
    (scheduler, workers and the scheduler's dashboard)."""

    def __init__(self, workers: int, scheduler: str | None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise InputError(
                "the dask executor needs the optional extra: pip install 'agglomeration[dask]'",
                field="executor",
            ) from None
        self.cluster = None
        if scheduler:
            self.client = _connect(check_scheduler_address(scheduler), SCHEDULER_TIMEOUT_S)
        else:
            with interrupts_deferred():
                self.cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                    preload=[__name__],  # dask_setup: the workers ignore SIGINT
                )
                self.client = Client(self.cluster)
        self.executor = self.client.get_executor(pure=False)

    def submit(self, fn: Any, *args: Any) -> cf.Future:
        return self.executor.submit(fn, *args)

    def new(self) -> cf.Executor:  # dask replaces lost workers itself
        return self.executor

    def capacity(self) -> int:
        n = sum(self.client.nthreads().values())
        return max(1, n)

    def terminate(self) -> None:
        """Cancel what is queued; a LocalCluster's workers are stopped with it.  Runs already
        executing on a remote cluster cannot be recalled: they finish and write their parts.
        Dask's complaints about the futures cancelled under it (a tornado callback's traceback for
        a FutureCancelledError, "couldn't gather keys") are not shown: the stop is deliberate."""
        loggers = [logging.getLogger(n) for n in ("distributed", "tornado.application")]
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
        try:
            self.close(wait=False)
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)

    def close(self, wait: bool = True) -> None:
        with contextlib.suppress(Exception):
            self.executor.shutdown(wait=wait)
        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()


class ExternalPool:
    """A user-supplied executor (not shut down by us)."""

    def __init__(self, executor: cf.Executor, workers: int):
        self.executor = executor
        self.workers = workers

    def submit(self, fn: Any, *args: Any) -> cf.Future:
        return self.executor.submit(fn, *args)

    def new(self) -> cf.Executor:
        raise ResultStoreError(
            "the supplied executor broke (a worker process died); rerun to resume"
        )

    def capacity(self) -> int:
        return self.workers

    def terminate(self) -> None:
        pass

    def close(self, wait: bool = True) -> None:
        pass


class SharedPool:
    """A local or Dask pool kept open across several batches (a calibration runs one small batch per
    group of candidates): the batch runner submits, retries and terminates through it as through the
    pool it wraps, but its ``close`` at the end of a batch keeps the workers; :meth:`shutdown` (the
    owner, once) closes them.  Pass it as ``executor`` to :func:`~agglomeration.experiment.runner.run_experiment`."""

    def __init__(self, pool: LocalPool | DaskPool):
        self.pool = pool

    @classmethod
    def open(
        cls, workers: int, executor: str = "local", scheduler: str | None = None
    ) -> SharedPool:
        """A new local process pool or Dask pool (``executor`` ``"local"`` or ``"dask"``)."""
        if executor == "dask":
            return cls(DaskPool(workers, scheduler))
        return cls(LocalPool(workers, None))

    @property
    def executor(self) -> cf.Executor:
        return self.pool.executor

    def submit(self, fn: Any, *args: Any) -> cf.Future:
        return self.pool.submit(fn, *args)

    def new(self) -> cf.Executor:
        return self.pool.new()

    def capacity(self) -> int:
        return self.pool.capacity()

    def terminate(self) -> None:
        """Stop now (a stop signal): the workers are killed; :meth:`new` starts fresh ones."""
        self.pool.terminate()

    def close(self, wait: bool = True) -> None:
        """End of one batch: the workers stay up for the next one."""

    def shutdown(self, wait: bool = True) -> None:
        """Close the wrapped pool (its owner, once, at the end)."""
        self.pool.close(wait=wait)
