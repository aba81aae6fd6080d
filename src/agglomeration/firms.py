"""Columnar firm state (:class:`FirmTable`) and the thin Mesa agent view on one row (:class:`Firm`).

Why columnar: every submodel of a step is a numpy expression over all firms, so state lives in one array
per attribute.  Capacity doubles when full (amortised O(1) appends, never a per-step reallocation of big
arrays).  Dead rows stay in place (``alive`` False) until :meth:`FirmTable.compact` squeezes them out,
which also remaps supplier references.  A firm keeps a permanent id (``fid``); ``row_of_fid`` maps ids to
the current row, so the Mesa agents need no update when rows move.

Units: money in CNY million per step, employment in workers, productivity as log points.

Supplier encoding (``supplier[i, k, slot]`` for input sector k, ``slots`` per input): ``>= 0`` the row of
a domestic firm, ``-1 - g`` an import through gateway g, :data:`NONE` an empty slot.  A buyer's suppliers
of one input fill the slots from 0 up (the empty slots come last); a pair whose slot 0 is empty has no
supplier (input not used, or every supplier exited and the buyer must re-source).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from agglomeration._jit import kernel

if TYPE_CHECKING:  # pragma: no cover
    from agglomeration.model import AgglomerationModel

#: supplier code for "no supplier"
NONE = np.iinfo(np.int32).min


class Column:
    """A declared column of :class:`FirmTable`: reading ``table.<name>`` gives the (n,) view of the used
    rows.  ``dtype`` and ``fill`` (the value of new rows) define the storage; ``doc`` says what it holds
    and in which unit."""

    def __init__(self, dtype: type, fill: float, doc: str, *, read_only: bool = False) -> None:
        self.dtype = dtype
        self.fill = fill
        self.__doc__ = doc
        self.read_only = read_only
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, table: FirmTable | None, owner: type | None = None) -> np.ndarray:
        if table is None:
            return self  # type: ignore[return-value]  # class access: the declaration
        view = table._data[self.name][: table.n]
        if self.read_only:
            view.flags.writeable = False
        return view


@kernel
def _drop_links_to(supplier: np.ndarray, rows: np.ndarray, none: int) -> None:
    """Drop every supplier code that points at one of ``rows`` and clear the rows' own links.

    One pass over the (n, S, K) supplier table with an (n + 1)-byte mask: each pair's remaining codes
    move to the front of its slots (order kept) and the freed slots become ``none``; a pair's scan
    stops at its first empty slot (filled slots come first) and unchanged slots are not rewritten.
    Read as unsigned, every non-domestic code (imports ``-1 - g``, ``none``) is >= n and looks up the
    always-False sentinel ``dead[n]`` (``rows`` in range, n < 2**31).
    """
    n, S, K = supplier.shape
    dead = np.zeros(n + 1, dtype=np.bool_)
    for j in range(len(rows)):
        dead[rows[j]] = True
    nn = np.uint32(n)
    for i in range(n):
        if dead[i]:
            supplier[i, :, :] = none
            continue
        for k in range(S):
            # the filled slots come first: stop at the first empty one and write only what moves
            w = 0
            end = K
            for sl in range(K):
                c = supplier[i, k, sl]
                if c == none:
                    end = sl
                    break
                u = np.uint32(c)
                if not dead[u if u < nn else nn]:
                    if w != sl:
                        supplier[i, k, w] = c
                    w += 1
            for sl in range(w, end):
                supplier[i, k, sl] = none


@kernel
def _gather_in_place(column: np.ndarray, keep: np.ndarray) -> None:
    """column[j] = column[keep[j]] for j ascending (safe in place because keep[j] >= j)."""
    for j in range(len(keep)):
        column[j] = column[keep[j]]


@kernel
def _compact_suppliers(
    supplier: np.ndarray, keep: np.ndarray, old_to_new: np.ndarray, none: int
) -> None:
    """Move supplier rows ``keep`` to the front in place and renumber domestic codes with ``old_to_new``.

    A code pointing at a dropped row (old_to_new -1) is removed and the pair's remaining codes move to
    the front of its slots; imports and ``none`` are kept (the same unsigned-code lookup as
    :func:`_drop_links_to`, n < 2**31).
    """
    n, S, K = supplier.shape
    remap = np.empty(n + 1, dtype=np.int32)
    for i in range(n):
        c = old_to_new[i]
        remap[i] = none if c < 0 else c
    remap[n] = 0
    nn = np.uint32(n)
    for j in range(len(keep)):
        src = keep[j]
        for k in range(S):
            w = 0
            for sl in range(K):
                c = supplier[src, k, sl]
                u = np.uint32(c)
                r = c if u >= nn else remap[u]
                if r != none:
                    supplier[j, k, w] = r
                    w += 1
            for sl in range(w, K):
                supplier[j, k, sl] = none


class FirmTable:
    """Columnar state of all firms ever created and not yet compacted away.

    Attributes are numpy views of the used rows (``table.sector``, ``table.alive`` ...), length ``n``;
    ``supplier`` is ``(n, S, K)`` int32 (K supplier slots per input).  Rows ``>= n`` are spare capacity.  ``alive`` is read-only: only
    :meth:`add`, :meth:`kill` and :meth:`compact` change it, which keeps the cached :meth:`alive_rows`
    valid.
    """

    fid = Column(np.int64, -1, "permanent firm id (never reused) [-]")
    sector = Column(np.int32, 0, "sector index into World.sector_ids [-]")
    region = Column(np.int32, 0, "region index into World.region_ids (current location) [-]")
    log_productivity = Column(np.float64, 0.0, "log productivity z [log points]")
    price = Column(np.float64, 1.0, "mill price [domestic reference price = 1]")
    revenue = Column(np.float64, 0.0, "sales revenue, final + intermediate [CNY m per step]")
    final_sales = Column(np.float64, 0.0, "sales to final demand [CNY m per step]")
    employment = Column(np.float64, 0.0, "workers employed this step [workers]")
    land_use = Column(np.float64, 0.0, "industrial land used [km2]")
    input_cost = Column(np.float64, 0.0, "purchases of intermediate inputs [CNY m per step]")
    profit = Column(np.float64, 0.0, "profit after fixed costs [CNY m per step]")
    equity = Column(np.float64, 0.0, "equity buffer [CNY m]")
    age = Column(np.int32, 0, "steps since entry [steps]")
    losses = Column(np.int32, 0, "consecutive loss-making steps [steps]")
    lines = Column(np.int32, 1, "product lines (varieties) the firm sells [-]")
    expected_profit = Column(
        np.float64,
        np.nan,
        "first-year profit per step the firm expected when it entered [CNY m per step]",
    )
    expected_revenue = Column(
        np.float64,
        np.nan,
        "first-year revenue per step the firm expected when it entered [CNY m per step]",
    )
    first_year_profit = Column(
        np.float64, 0.0, "profit accumulated over the firm's first year [CNY m]"
    )
    first_year_revenue = Column(
        np.float64, 0.0, "revenue accumulated over the firm's first year [CNY m]"
    )
    alive = Column(
        np.bool_, False, "live firm (read-only: changed by add, kill, compact)", read_only=True
    )

    @classmethod
    def columns(cls) -> dict[str, Column]:
        """The declared columns, in declaration order."""
        return {n: c for n, c in vars(cls).items() if isinstance(c, Column)}

    def __init__(self, n_sectors: int, capacity: int = 1024, slots: int = 1) -> None:
        self.n_sectors = int(n_sectors)
        #: supplier slots per input (K)
        self.slots = int(slots)
        self.n = 0
        self.next_fid = 0
        cap = max(int(capacity), 16)
        self._data: dict[str, np.ndarray] = {
            name: np.full(cap, c.fill, dtype=c.dtype) for name, c in self.columns().items()
        }
        self._supplier = np.full((cap, self.n_sectors, self.slots), NONE, dtype=np.int32)
        self.row_of_fid = np.full(cap, -1, dtype=np.int64)
        #: cached live rows (read-only), None when stale
        self._live: np.ndarray | None = None

    # ------------------------------------------------------------------ access
    @property
    def supplier(self) -> np.ndarray:
        """(n, S, K) int32 supplier codes (see module docstring)."""
        return self._supplier[: self.n]

    @property
    def capacity(self) -> int:
        """Rows allocated."""
        return len(self._data["fid"])

    @property
    def n_alive(self) -> int:
        """Number of live firms."""
        return len(self._live_rows())

    def _live_rows(self) -> np.ndarray:
        live = self._live
        if live is None:
            live = np.flatnonzero(self._data["alive"][: self.n])
            owner = live
            while isinstance(
                owner.base, np.ndarray
            ):  # flatnonzero returns a view of an (n, 1) array
                owner = owner.base
            owner.flags.writeable = False  # views of it can then never be made writeable
            live.flags.writeable = False
            self._live = live
        return live

    def alive_rows(self) -> np.ndarray:
        """Rows of live firms, ascending (int64).

        A read-only view of an array cached until the next :meth:`add`, :meth:`kill` or :meth:`compact`
        (a step asks for it ~15 times); copy it before changing it.
        """
        return self._live_rows().view()

    def nbytes(self) -> int:
        """Bytes held by the table's arrays (capacity included)."""
        return (
            sum(a.nbytes for a in self._data.values())
            + self._supplier.nbytes
            + self.row_of_fid.nbytes
        )

    # ---------------------------------------------------------------- growth
    def _grow(self, need: int) -> None:
        cap = self.capacity
        if need <= cap:
            return
        new = cap
        while new < need:
            new *= 2
        # the spare rows are left unwritten (``add`` fills the rows it takes): the operating system maps
        # their pages only when they are first used, so the doubled capacity costs no memory up front
        for name in self.columns():
            arr = np.empty(new, dtype=self._data[name].dtype)
            arr[:cap] = self._data[name]
            self._data[name] = arr
        sup = np.empty((new, self.n_sectors, self.slots), dtype=np.int32)
        sup[:cap] = self._supplier
        self._supplier = sup

    def _grow_fids(self, need: int) -> None:
        cap = len(self.row_of_fid)
        if need <= cap:
            return
        new = cap
        while new < need:
            new *= 2
        arr = np.full(new, -1, dtype=np.int64)
        arr[:cap] = self.row_of_fid
        self.row_of_fid = arr

    def add(
        self,
        sector: np.ndarray,
        region: np.ndarray,
        log_productivity: np.ndarray,
        equity: np.ndarray,
        fids: np.ndarray | None = None,
    ) -> np.ndarray:
        """Append live firms; return their rows.  Ids are consecutive, never reused; or ``fids``, ids
        given by the caller (the keys of potential entrants, random_streams.py): distinct, not yet
        used, and at or above every consecutive id handed out (they do not advance them)."""
        self._live = None
        k = len(sector)
        rows = np.arange(self.n, self.n + k)
        given = fids is not None
        if given:
            fids = np.asarray(fids, dtype=np.int64)
            if len(fids) != k:
                raise ValueError(f"fids must have one id per firm ({k}), got {len(fids)}")
            if k and (fids.min() < self.next_fid or len(np.unique(fids)) != k):
                raise ValueError("given fids must be distinct and not below the next free id")
            self._grow_fids(int(fids.max()) + 1 if k else 0)
            if k and (self.row_of_fid[fids] != -1).any():
                raise ValueError("a given fid is already in use")
        self._grow(self.n + k)
        if not given:
            self._grow_fids(self.next_fid + k)
            fids = np.arange(self.next_fid, self.next_fid + k, dtype=np.int64)
            if k and (self.row_of_fid[fids] != -1).any():  # given ids above next_fid are taken
                raise ValueError("the next consecutive ids are taken by given ids")
        d = self._data
        new = slice(self.n, self.n + k)  # the new rows are contiguous: slices, not fancy indexing
        for name, c in self.columns().items():
            d[name][new] = c.fill
        d["fid"][new] = fids
        d["sector"][new] = sector
        d["region"][new] = region
        d["log_productivity"][new] = log_productivity
        d["equity"][new] = equity
        d["alive"][new] = True
        self._supplier[new] = NONE
        self.n += k
        if given:
            self.row_of_fid[fids] = rows
        else:
            self.row_of_fid[self.next_fid : self.next_fid + k] = rows
            self.next_fid += k
        return rows

    def kill(self, rows: np.ndarray) -> None:
        """Mark rows dead and drop every supplier link that points to them (buyers must re-source).

        ``rows`` are used rows (0 <= row < n; duplicates allowed).  One compiled pass over the supplier
        matrix (O(n S), no temporaries).
        """
        rows = np.asarray(rows)
        if len(rows) == 0:
            return
        if rows.dtype.kind not in "iu":
            raise ValueError(f"kill: rows must be integers, got dtype {rows.dtype}")
        rows = rows.astype(np.int64, copy=False)
        if rows.min() < 0 or rows.max() >= self.n:
            raise ValueError(f"kill: rows must be in [0, {self.n}), got {rows.min()}..{rows.max()}")
        self._live = None
        self._data["alive"][rows] = False
        _drop_links_to(self.supplier, rows, NONE)
        self.row_of_fid[self._data["fid"][rows]] = -1

    def compact(self) -> np.ndarray:
        """Drop dead rows, keeping order; remap supplier rows.  Returns old row -> new row (-1 if dead).

        In place: each column and the supplier matrix are moved to the front by compiled loops, with no
        per-column temporaries.
        """
        keep = self._live_rows()
        old_to_new = np.full(self.n, -1, dtype=np.int64)
        old_to_new[keep] = np.arange(len(keep))
        m = len(keep)
        for name, c in self.columns().items():
            arr = self._data[name]
            _gather_in_place(arr, keep)
            arr[m : self.n] = c.fill
        _compact_suppliers(self.supplier, keep, old_to_new, NONE)
        self._supplier[m : self.n] = NONE
        self.n = m
        self.row_of_fid[self._data["fid"][:m]] = np.arange(m)
        self._live = None
        return old_to_new

    def maybe_compact(self, dead_share: float = 0.25) -> np.ndarray | None:
        """Compact when more than ``dead_share`` of used rows are dead (amortised O(1) per exit)."""
        if self.n and (self.n - self.n_alive) > dead_share * self.n:
            return self.compact()
        return None


class Firm(mesa.Agent):
    """Mesa view of one firm: every attribute reads the model's :class:`FirmTable` row on access.

    ``sector`` and ``region`` are ids (str); numeric attributes in model units.  A removed (exited) firm
    has ``alive == False`` and its numeric attributes read as NaN.
    """

    def __init__(self, model: AgglomerationModel, fid: int) -> None:
        super().__init__(model)
        self.fid = int(fid)

    def _get(self, column: str):
        table = self.model.firms
        row = table.row_of_fid[self.fid] if self.fid < len(table.row_of_fid) else -1
        if row < 0:
            return None
        return getattr(table, column)[row]

    @property
    def alive(self) -> bool:
        """Whether the firm is still active."""
        v = self._get("alive")
        return bool(v) if v is not None else False

    @property
    def sector(self) -> str | None:
        """Sector id."""
        v = self._get("sector")
        return None if v is None else str(self.model.world.sector_ids[v])

    @property
    def region(self) -> str | None:
        """Region id of the current location."""
        v = self._get("region")
        return None if v is None else str(self.model.world.region_ids[v])

    def _num(self, column: str) -> float:
        v = self._get(column)
        return float("nan") if v is None else float(v)

    @property
    def productivity(self) -> float:
        """Productivity z (multiplies output per unit of input) [-]."""
        return float(np.exp(self._num("log_productivity")))

    @property
    def employment(self) -> float:
        """Workers employed this step."""
        return self._num("employment")

    @property
    def output(self) -> float:
        """Gross output value = sales revenue [CNY m per step]."""
        return self._num("revenue")

    @property
    def price(self) -> float:
        """Mill price [domestic reference price = 1]."""
        return self._num("price")

    @property
    def profit(self) -> float:
        """Profit after fixed costs [CNY m per step]."""
        return self._num("profit")

    @property
    def equity(self) -> float:
        """Equity buffer [CNY m]."""
        return self._num("equity")

    @property
    def age(self) -> float:
        """Steps since entry."""
        return self._num("age")

    def step(self) -> None:
        """Firms act through the model's vectorised submodels; nothing to do per agent."""
        return None
