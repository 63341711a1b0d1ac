"""The same assignment on a Dask cluster: parts of a (Geo)Parquet input on many workers.

A run needs a ``dask.distributed`` client: :func:`dask_client` starts a ``LocalCluster`` of
``workers`` processes on this machine, or connects to a running scheduler (``dask scheduler``
and ``dask worker ADDRESS`` on each machine). The input is one (Geo)Parquet file or a folder of
them (a partitioned dataset, in file-name order); its row groups are grouped into parts of
about ``rows`` rows (a bigger row group is cut into slices, each read by its task).

The job, with the cells' index, is sent once to every worker (``Client.scatter(...,
broadcast=True)``); each task reads its rows on the worker, runs the kernel
(:func:`gridsvc.services.assign_files.run_part`, the one the single-process path runs) and
hands its output rows back. The client writes them into the output in input order while later
parts run, so the file is identical, row for row, to the single-process one. At most
``window`` parts are in flight, so a 100-million-row input never piles up in memory.

Workers on other machines must see the input at the same path (a shared file system).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from gridsvc.domain.io.arrow_io import shift_rows
from gridsvc.domain.io.points_io import Points, read_parquet_part
from gridsvc.errors import InvalidInput, Problem
from gridsvc.services.assign_files import (
    PARQUET_SUFFIXES,
    Kernel,
    Runner,
    dataset_files,
    run_part,
)

#: Rows per part on a cluster: enough to keep a task's overhead (about a millisecond) small.
DASK_PART_ROWS = 1_000_000


@dataclass(frozen=True)
class Part:
    """The rows one task reads: row groups of one file, and a slice of them (or all)."""

    path: Path
    row_groups: tuple[int, ...]
    rows: tuple[int, int] | None
    first_row: int
    n_rows: int


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None,
                threads: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler`` when given, else to a new ``LocalCluster`` of
    ``workers`` processes (default: one per core) with ``threads`` threads each (default: the
    cores shared out), closed on exit. No dashboard is started."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


def plan_parts(files: list[Path], rows: int) -> list[Part]:
    """Parts of about ``rows`` rows from the files' row groups (their footers only are read).

    Raises
    ------
    InvalidInput
        A file that is not Parquet or cannot be read, or whose columns differ from the first
        file's.
    """
    import pyarrow.parquet as pq

    parts: list[Part] = []
    first_row = 0
    schema = None
    for file in files:
        try:
            meta = pq.ParquetFile(file).metadata
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidInput([Problem(f"cannot read {file.name}: {exc}", field="input")]
                               ) from None
        this = meta.schema.to_arrow_schema().remove_metadata()
        if schema is not None and this != schema:
            raise InvalidInput([Problem(f"{file.name} has other columns than the dataset's "
                                        "first file", field="input")])
        schema = this
        group: list[int] = []
        in_group = 0
        sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        for g, n in enumerate(sizes):
            if n > 2 * rows:  # a big row group: slices of it, each read by its own task
                if group:
                    parts.append(Part(file, tuple(group), None, first_row, in_group))
                    first_row += in_group
                    group, in_group = [], 0
                for start in range(0, n, rows):
                    stop = min(n, start + rows)
                    parts.append(Part(file, (g,), (start, stop), first_row, stop - start))
                    first_row += stop - start
                continue
            group.append(g)
            in_group += n
            if in_group >= rows:
                parts.append(Part(file, tuple(group), None, first_row, in_group))
                first_row += in_group
                group, in_group = [], 0
        if group or not sizes:
            parts.append(Part(file, tuple(group), None, first_row, in_group))
            first_row += in_group
    return parts


def read_part(part: Part, x: str | None, y: str | None) -> Points:
    """A part's rows, with rows in messages named in the whole input."""
    try:
        return read_parquet_part(part.path, part.row_groups, x, y, part.rows)
    except InvalidInput as exc:
        raise shift_rows(exc, part.first_row) from None


def part_task(part: Part, job: Any, kernel: Kernel) -> Any:
    """What a worker does with one part: read it, run the kernel (module-level functions, so
    workers import them rather than unpickle code)."""
    return kernel(job, read_part(part, job.x, job.y), part.first_row)


class DaskRunner(Runner):
    """Parts on the workers of ``client``; outputs come back in input order.

    Parameters
    ----------
    client
        A ``distributed.Client``.
    rows
        Rows per part (see :func:`plan_parts`).
    window
        Parts in flight at once; default twice the cluster's threads.
    """

    def __init__(self, client: Any, rows: int = DASK_PART_ROWS, window: int | None = None
                 ) -> None:
        self.client = client
        self.rows = rows
        self.window = window
        self._parts = 0

    def open(self, path: Path, x: str | None, y: str | None) -> Points:
        files = dataset_files(path)
        if files[0].suffix.lower() not in PARQUET_SUFFIXES:
            raise InvalidInput([Problem(
                f"the Dask path reads (Geo)Parquet files or folders of them, not {path.name}: "
                "convert it, or leave out --workers and --scheduler", field="input")])
        import pyarrow.parquet as pq

        groups = pq.ParquetFile(files[0]).metadata.num_row_groups
        return read_parquet_part(files[0], [0] if groups else [], x, y)

    def run(self, job: Any, head: Points, path: Path, kernel: Kernel = run_part
            ) -> Iterator[Any]:
        parts = plan_parts(dataset_files(path), self.rows)
        self._parts = len(parts)
        yield from self.map(part_task, parts, self.shareable(job), kernel)

    def shareable(self, job: Any) -> Any:
        """``job`` as sent to the workers: a cached index travels as its folder to the workers
        of a local cluster (each opens it once, memory-mapped, sharing its pages), and whole to
        a remote cluster's, which may not see this machine's disk."""
        if getattr(self.client, "cluster", None) is not None:
            return job
        return replace(job, targets=tuple(replace(t, layer=t.layer.detached())
                                          for t in job.targets))

    def map(self, task: Any, parts: list[Part], job: Any, *args: Any) -> Iterator[Any]:
        """``task(part, job, *args)`` for every part on the cluster, results in order. ``job``
        is sent once to every worker."""
        client = self.client
        window = self.window or 2 * max(sum(client.nthreads().values()), 1)
        shared = client.scatter(job, broadcast=True, hash=False)
        queue: deque = deque()
        todo = iter(parts)
        try:
            for part in todo:
                queue.append(client.submit(task, part, shared, *args, pure=False))
                if len(queue) >= window:
                    break
            while queue:
                result = queue.popleft().result()
                nxt = next(todo, None)
                if nxt is not None:
                    queue.append(client.submit(task, nxt, shared, *args, pure=False))
                yield result
        finally:
            client.cancel([*queue, shared])

    @property
    def parts(self) -> int:
        return self._parts

