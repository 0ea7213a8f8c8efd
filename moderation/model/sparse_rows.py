"""A few sparse rows as plain CSR arrays: the features of a handful of comments without scipy matrices.

Building a scipy matrix checks and converts its arrays, which costs more than all the arithmetic on the
few hundred entries of one comment. :class:`SparseRows` holds the same three arrays, and its product adds
its terms in the order scipy's does, so it gives the same floats.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(slots=True)  # not frozen: a frozen dataclass takes several times longer to build, and many are built
class SparseRows:
    """Rows of a sparse matrix as CSR arrays; ``rows @ dense`` works as for a scipy CSR matrix."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_columns: int

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.indptr) - 1, self.n_columns

    def __matmul__(self, dense: np.ndarray) -> np.ndarray:
        """Each row times ``dense``, its terms added one by one in stored order, as scipy adds them.

        One row is multiplied here. Several rows go to scipy, unless ``dense`` is a strided view (the
        LSA components, transposed), which scipy would copy whole: those rows are padded with zero terms,
        which leave every sum as it is.
        """
        n_rows = len(self.indptr) - 1
        if n_rows == 1:
            columns, values = self.indices[:, None], self.data[:, None]
        elif dense.flags.c_contiguous:
            return np.asarray(self.to_csr() @ dense)
        else:
            lengths = self.indptr[1:] - self.indptr[:-1]
            rows = np.arange(n_rows).repeat(lengths)
            slots = np.arange(len(self.indices)) - self.indptr[rows]
            columns = np.zeros((lengths.max(initial=0), n_rows), dtype=self.indices.dtype)
            values = np.zeros(columns.shape, dtype=self.data.dtype)
            columns[slots, rows] = self.indices
            values[slots, rows] = self.data
        if not len(columns):
            return np.zeros((n_rows, dense.shape[1]), dtype=np.result_type(self.data, dense))
        return sum_in_order(values[:, :, None] * dense.take(columns, axis=0))  # term x row x column of dense

    def take(self, rows: np.ndarray) -> SparseRows:
        """These rows, in this order (repeats allowed)."""
        lengths = (self.indptr[1:] - self.indptr[:-1])[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        lengths.cumsum(out=indptr[1:])
        source = np.arange(indptr[-1]) + (self.indptr[rows] - indptr[:-1]).repeat(lengths)
        return SparseRows(indptr, self.indices[source], self.data[source], self.n_columns)

    def to_csr(self) -> sp.csr_matrix:
        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)


def sum_in_order(terms: np.ndarray) -> np.ndarray:
    """The sum over the first axis of a C-contiguous array, adding one term after another as scipy does.

    NumPy adds term after term along every axis but the fastest-varying one, where it sums pairwise; when
    nothing varies faster (one column), a running sum, which is never reordered, gives the sequential sum.
    """
    if terms[0].size > 1:
        return np.add.reduce(terms, axis=0)
    return np.add.accumulate(terms, axis=0)[-1]


def hstack_rows(blocks: list[SparseRows]) -> SparseRows:
    """Blocks side by side, as ``scipy.sparse.hstack``: each row holds the first block's entries, then the next's."""
    n_rows = len(blocks[0].indptr) - 1
    offsets = [0]
    for block in blocks:
        offsets.append(offsets[-1] + block.n_columns)
    indices = np.concatenate([b.indices + offset if offset else b.indices for b, offset in zip(blocks, offsets)])
    data = np.concatenate([b.data for b in blocks])
    if n_rows == 1:
        return SparseRows(np.array([0, len(indices)]), indices, data, offsets[-1])
    lengths = np.stack([b.indptr[1:] - b.indptr[:-1] for b in blocks])  # block x row
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    lengths.sum(axis=0).cumsum(out=indptr[1:])
    # The entries are block by block: a stable sort on (row, block) puts each row's side by side.
    row_then_block = np.arange(n_rows) * len(blocks) + np.arange(len(blocks))[:, None]
    order = row_then_block.ravel().repeat(lengths.ravel()).argsort(kind="stable")
    return SparseRows(indptr, indices[order], data[order], offsets[-1])


def vstack_rows(blocks: list[SparseRows]) -> SparseRows:
    """Blocks one below the other, as ``scipy.sparse.vstack``."""
    starts = [0]
    for block in blocks[:-1]:
        starts.append(starts[-1] + int(block.indptr[-1]))
    indptr = np.concatenate([blocks[0].indptr[:1]] + [b.indptr[1:] + start for b, start in zip(blocks, starts)])
    return SparseRows(indptr, np.concatenate([b.indices for b in blocks]), np.concatenate([b.data for b in blocks]),
                      blocks[0].n_columns)


def dense_rows(matrix: np.ndarray) -> SparseRows:
    """A dense block with every entry stored, zeros included (scipy's conversion would look for zeros)."""
    n_rows, n_columns = matrix.shape
    return SparseRows(np.arange(0, n_rows * n_columns + 1, n_columns), np.arange(n_rows * n_columns) % n_columns,
                      matrix.ravel(), n_columns)
