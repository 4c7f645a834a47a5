"""Suppression for tables linked by sums: the session rule, kept across tables (issue 14).

`stats.suppression` protects one table: its suppressed cells cannot be worked out from its
total. Tables that add up to other tables (each session's to its day's, the days' to the
event's) let a reader subtract along those sums too. `protect` makes every such relation
safe by the same rule (`stats.suppression`, K = 5), a cell suppressed for one relation
being protected in every other it is in; then, because relations that are safe one at a
time can still pin a cell when solved together, it solves all of them as one linear system
(`pinned`) and suppresses one more cell near each one still pinned, until none is.

What one relation needs (`_line_hides`):

- its cells of 1 to K-1 are suppressed, and while its suppressed cells sum to under K, or
  are fewer than two, or no more than their number, the smallest published non-zero one too;
- a table's own total under K suppresses its whole table, zeros included (as the session
  report does); across tables, a total under K suppresses its non-zero parts and itself;
- a suppressed total must not be the sum of published parts: one part is suppressed too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from . import stats
from .stats import K

__all__ = ["Cell", "Grid", "Line", "pinned", "protect"]

Cell = tuple[str, ...]
"""A figure's address, e.g. (section, dimension, cut kind, cut key, group)."""
Line = tuple[tuple[Cell, ...], Cell, bool]
"""A relation: its parts, their total, and whether it is a table's own sum."""


def _first(cell: Cell) -> int:
    return 0


class Grid:
    """Cells with their values, and the sums a reader can subtract along: each relation
    (`line`) says its parts add up to its total; `own` marks a table's own sum (cells to
    their total), the others link tables (e.g. sessions to their day)."""

    def __init__(self) -> None:
        self.values: dict[Cell, int] = {}
        self.lines: list[Line] = []
        self.alias: dict[Cell, Cell] = {}

    def cell(self, cell: Cell) -> Cell:
        """The cell as stored: a figure that two tables share is one cell."""
        return self.alias.get(cell, cell)

    def same(self, cell: Cell, as_cell: Cell) -> None:
        """`cell` is the same figure as `as_cell` (two tables publish one number)."""
        self.alias[cell] = self.cell(as_cell)

    def line(self, parts: Iterable[Cell], total: Cell, own: bool) -> None:
        """The `parts` add up to `total` (declare `same` cells first)."""
        cells = tuple(dict.fromkeys(self.cell(p) for p in parts))
        self.lines.append((cells, self.cell(total), own))



def protect(
    grid: Grid, rank: Callable[[Cell], int] = _first, hidden: Iterable[Cell] = ()
) -> set[Cell]:
    """The cells to suppress: `hidden` (cells that must stay suppressed), then every
    relation made safe by the session rule, until none changes; then, while solving all
    relations together still pins a suppressed cell (`pinned`), one more cell of one of its
    relations, and again. Cells are only ever added, so this ends."""
    lines_of: dict[Cell, list[int]] = {}
    for index, (parts, total, _own) in enumerate(grid.lines):
        for cell in (*parts, total):
            lines_of.setdefault(cell, []).append(index)
    hidden = {grid.cell(c) for c in hidden} & set(grid.values)
    pending = list(range(len(grid.lines)))
    while True:
        _settle(grid, lines_of, hidden, pending)
        fixed = pinned(grid, hidden, rank)
        if not fixed:
            return hidden
        pending = []
        for cell in sorted(fixed):
            extra = _complement(grid, lines_of, cell, hidden)
            if extra is None:
                return hidden  # nothing left to suppress: every figure near it already is
            hidden.add(extra)
            pending += lines_of[extra]


def _settle(
    grid: Grid, lines_of: Mapping[Cell, list[int]], hidden: set[Cell], pending: list[int]
) -> None:
    """Make each relation in `pending` safe, and each one a newly suppressed cell is in."""
    queued = set(pending)
    while pending:
        index = pending.pop()
        queued.discard(index)
        for cell in _line_hides(grid, grid.lines[index], hidden):
            hidden.add(cell)
            for other in lines_of.get(cell, ()):
                if other not in queued:
                    queued.add(other)
                    pending.append(other)


def _complement(
    grid: Grid, lines_of: Mapping[Cell, list[int]], cell: Cell, hidden: set[Cell]
) -> Cell | None:
    """One more cell to suppress near `cell`: the smallest published one (non-zero first)
    of its relations, else of theirs, and so on."""
    seen = {cell}
    frontier = [cell]
    while frontier:
        near = {
            c
            for f in frontier
            for i in lines_of.get(f, ())
            for c in (*grid.lines[i][0], grid.lines[i][1])
        } - seen
        published = [c for c in near if c not in hidden]
        if published:
            return min(published, key=lambda c: (grid.values[c] == 0, grid.values[c], c))
        seen |= near
        frontier = sorted(near)
    return None


_PRIME: Final = (1 << 61) - 1


def pinned(grid: Grid, hidden: set[Cell], rank: Callable[[Cell], int] = _first) -> set[Cell]:
    """The suppressed cells a reader could work out exactly: those the relations, solved
    together as a linear system whose unknowns are the suppressed cells, fix to one value.

    Exact and fast: the system is brought to echelon form modulo a large prime, and one
    random solution of its homogeneous part is drawn; a cell is fixed when it is zero in
    that solution (a cell that is not fixed is zero there with probability 1 / 2**61, which
    only suppresses one cell more)."""
    # The detailed cells first (`rank`) and each table's own sum first keep the rows short
    # (measured: six times faster than the plain order on 300 sessions of an event).
    cells = sorted(hidden, key=lambda c: (rank(c), c))
    order = {cell: n for n, cell in enumerate(cells)}
    rows: dict[int, dict[int, int]] = {}
    for parts, total, _own in sorted(grid.lines, key=lambda line: not line[2]):
        row = {order[c]: 1 for c in parts if c in hidden}
        if total in hidden:
            row[order[total]] = _PRIME - 1
        _insert(rows, row)
    draw = random.Random(len(hidden))
    x: dict[int, int] = {}
    for var in range(len(order)):
        if var not in rows:
            x[var] = draw.randrange(1, _PRIME)
    for var in sorted(rows, reverse=True):
        x[var] = -sum(c * x[u] for u, c in rows[var].items() if u != var) % _PRIME
    return {cells[var] for var, value in x.items() if value == 0}


def _insert(rows: dict[int, dict[int, int]], row: dict[int, int]) -> None:
    """Add one equation to the echelon form `rows` (pivot -> row, pivot coefficient 1)."""
    while row:
        pivot = min(row)
        known = rows.get(pivot)
        if known is None:
            inverse = pow(row[pivot], -1, _PRIME)
            rows[pivot] = {v: c * inverse % _PRIME for v, c in row.items()}
            return
        factor = row[pivot]
        for var, c in known.items():
            value = (row.get(var, 0) - factor * c) % _PRIME
            if value:
                row[var] = value
            else:
                row.pop(var, None)


def _line_hides(grid: Grid, line: Line, hidden: set[Cell]) -> set[Cell]:
    """What one relation needs suppressed, beyond `hidden`."""
    parts, total, own = line
    values = {cell: grid.values[cell] for cell in parts}
    already = {cell for cell in parts if cell in hidden}
    if total in hidden:
        if own and grid.values[total] < K:  # rule 3: a small total hides its whole table
            return set(parts) - hidden
        primary = {cell for cell, n in values.items() if 0 < n < K} - hidden  # rule 3
        if already or primary:
            return primary
        # A suppressed total must not be the sum of published cells, zeros included.
        if any(values.values()):
            return {_smallest(values, already)}
        return set(parts)
    whole = sum(values.values())
    if not own and 0 < whole < K:
        return {cell for cell, n in values.items() if n > 0 and cell not in hidden} | {total}
    names = {cell: "\x00".join(cell) for cell in parts}
    by_name = {name: values[cell] for cell, name in names.items()}
    chosen, total_hidden = stats.suppression(by_name, K, (names[c] for c in already))
    out = {cell for cell, name in names.items() if name in chosen and cell not in hidden}
    if total_hidden:
        out.add(total)
        if not own:  # across cuts a zero names nobody and stays published (rule 3)
            out = {cell for cell in out if cell == total or values[cell] > 0}
    return out


def _smallest(values: Mapping[Cell, int], hidden: set[Cell]) -> Cell:
    return min((n, cell) for cell, n in values.items() if n > 0 and cell not in hidden)[1]
