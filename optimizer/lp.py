"""Sparse linear models for OR-Tools' model builder, shared by the allocation and the
tour bound: rows gathered as arrays and handed over in one call, solver banners silenced."""

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder as mb

__all__ = ["Rows", "quiet_stdout"]


class Rows:
    """A sparse model's constraint rows, handed to OR-Tools in one call.

    Building rows one coefficient at a time through the solver wrapper takes longer than
    solving on province-sized models; a scipy CSR matrix goes across in one C++ call.
    """

    def __init__(self, n_vars: int) -> None:
        self.n_vars = n_vars
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.count = 0

    def add(self, lo: np.ndarray, hi: np.ndarray) -> int:
        first = self.count
        self.lo.append(np.asarray(lo, dtype=float))
        self.hi.append(np.asarray(hi, dtype=float))
        self.count += len(self.lo[-1])
        return first

    def terms(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | float) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.rows.append(rows)
        self.cols.append(np.asarray(cols, dtype=np.int64))
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=float), rows.shape))

    def model(
        self,
        var_lo: np.ndarray,
        var_hi: np.ndarray,
        objective: np.ndarray,
        integer: np.ndarray | None = None,
        hint: np.ndarray | None = None,
    ) -> mb.Model:
        cat = np.concatenate
        matrix = sp.csr_matrix(
            (
                cat(self.vals) if self.vals else np.zeros(0),
                (
                    cat(self.rows) if self.rows else np.zeros(0, int),
                    cat(self.cols) if self.cols else np.zeros(0, int),
                ),
            ),
            shape=(self.count, self.n_vars),
        )
        model = mb.Model()
        fill: Any = model.helper.fill_model_from_sparse_data  # its stub's array types are wrong
        fill(
            np.asarray(var_lo, dtype=float),
            np.asarray(var_hi, dtype=float),
            np.asarray(objective, dtype=float),
            cat(self.lo) if self.lo else np.zeros(0),
            cat(self.hi) if self.hi else np.zeros(0),
            matrix,
        )
        model.helper.set_maximize(True)
        if integer is not None:
            for k in np.flatnonzero(integer):
                model.helper.set_var_integrality(int(k), True)
        if hint is not None:
            for k in np.flatnonzero(hint > 0.5):
                model.helper.add_hint(int(k), float(hint[k]))
        return model


_STDOUT = threading.RLock()


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence native solver banners: HiGHS prints on the C stdout whatever we ask, and
    stdout is where `relief plan --json` writes the plan. One thread at a time: two
    threads swapping file descriptor 1 could leave it pointing at /dev/null."""
    with _STDOUT:
        sys.stdout.flush()
        saved = os.dup(1)
        sink = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(sink, 1)
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(sink)
