"""Executors of the batch runner (experiment/pools.py)."""

from __future__ import annotations

import io
import logging

import pytest


def test_a_lost_scheduler_is_logged_in_one_line_by_a_local_cluster_worker():
    """A worker whose heartbeat fell between the parent's stop and the scheduler's close logged two
    chained tracebacks (a Ctrl-C under --executor dask looked like a crash); now one line keeps the
    message and the exception, while any other exception keeps its traceback."""
    pytest.importorskip("distributed")
    from distributed.comm.core import CommClosedError

    from agglomeration.experiment.pools import one_line_comm_errors

    logger = logging.getLogger("distributed.worker")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger("distributed").addHandler(handler)
    try:
        one_line_comm_errors()
        one_line_comm_errors()
        assert sum(type(f).__name__ == "_OneLineCommErrors" for f in handler.filters) == 1
        try:
            try:
                raise OSError("Stream is closed")
            except OSError as e:
                raise CommClosedError("in <TCP (closed)>: Stream is closed") from e
        except CommClosedError:
            logger.error(
                "Failed to communicate with scheduler during %s.", "heartbeat", exc_info=True
            )
        try:
            raise ValueError("a real bug")
        except ValueError:
            logger.error("something else", exc_info=True)
    finally:
        logging.getLogger("distributed").removeHandler(handler)
    out = stream.getvalue()
    first, rest = out.split("something else", 1)
    assert (
        "Failed to communicate with scheduler during heartbeat. (CommClosedError: in <TCP (closed)>: Stream is closed)"
        in first
    )
    assert "Traceback" not in first
    assert "Traceback" in rest and "ValueError: a real bug" in rest
