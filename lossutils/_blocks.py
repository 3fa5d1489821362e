"""Blocks of rows that fit in cache, for losses that sum over large arrays (chapters 3 and 5).

A loss over 10^6 elements written as whole-array NumPy expressions allocates an 8 MB temporary
per step, and each fresh temporary costs the system time to hand out its pages. Computing the
same expression on blocks of rows written into one reused buffer keeps the work in cache and
allocates nothing large; the result is the same sum, added up block by block.
"""

from __future__ import annotations

import math

# elements per block: 512 KiB of float64, the L2 cache of one core of the course's machines
BLOCK = 1 << 16


def row_blocks(shape: tuple[int, ...]) -> tuple[list[slice], tuple[int, ...]]:
    """Slices along axis 0 of an array of ``shape`` (ndim >= 1), each about ``BLOCK`` elements
    (at least one row), and the shape of a buffer that holds the largest block."""
    row = max(1, math.prod(shape[1:]))
    step = max(1, BLOCK // row)
    slices = [slice(start, start + step) for start in range(0, shape[0], step)]
    return slices, (min(step, shape[0]),) + tuple(shape[1:])
