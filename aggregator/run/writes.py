"""Writing poll outcomes to the store: one thread, several sources per transaction.

A cycle over a thousand sources on SQLite must not cost a thousand commits, so
`BatchWriter` commits whatever outcomes are waiting, up to the store's `write_batch`,
in one transaction (`SQLStore.record_polls`); each source's poll is still all or
nothing. PostgreSQL takes one source per transaction (see `PostgresStore`).

The pipeline's store calls run on two threads, one writing and one reading
(`in_store_thread`): a polling process holds two database connections and their page
caches, not one per thread of asyncio's default pool, and a read a poll needs before
processing never waits behind a batch being written.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Literal, ParamSpec, TypeVar

from aggregator.models import IngestReport, MergePolicy, PollOutcome
from aggregator.store import SQLStore, StoreError

P = ParamSpec("P")
T = TypeVar("T")

_threads = {
    "read": ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-read"),
    "write": ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-write"),
}


async def in_store_thread(
    kind: Literal["read", "write"], function: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run a blocking store call on the pipeline's "read" or "write" store thread."""
    call = functools.partial(function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_threads[kind], call)


class BatchWriter:
    """Writes poll outcomes to the store from one thread, all waiting ones per transaction.

    Use as `async with BatchWriter(store, policy) as writer: await writer.write(outcome)`.
    If a batch fails for one outcome's sake (a bug, a constraint), its outcomes are
    written one by one so the others still land; a `StoreError` (the database is
    unreachable) fails the whole batch at once rather than once per source.
    """

    def __init__(self, store: SQLStore, policy: MergePolicy, batch: int | None = None):
        self.store = store
        self.policy = policy
        self.batch = batch or store.write_batch
        self._waiting: list[tuple[PollOutcome, asyncio.Future[IngestReport]]] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> BatchWriter:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._task is not None
        self._closing = True
        self._wakeup.set()
        if kind is not None:
            self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            if kind is None:
                raise

    async def write(self, outcome: PollOutcome) -> IngestReport:
        """Queue `outcome`; return its report once its batch is committed. A writer that
        has stopped (its cycle ended, or failed) raises StoreError rather than wait."""
        if self._closing or self._task is None or self._task.done():
            raise StoreError("the cycle ended before this poll was written")
        future: asyncio.Future[IngestReport] = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        batch: list[tuple[PollOutcome, asyncio.Future[IngestReport]]] = []
        try:
            while not (self._closing and not self._waiting):
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._waiting:
                    batch = self._waiting[: self.batch]
                    del self._waiting[: self.batch]
                    await self._write(batch)
        finally:
            # Cancelled mid-batch, or stopped with polls queued: none of them may wait on.
            for _, future in batch + self._waiting:
                if not future.done():
                    future.set_exception(StoreError("the cycle ended before this poll was written"))

    async def _write(self, batch: list[tuple[PollOutcome, asyncio.Future[IngestReport]]]) -> None:
        outcomes = [outcome for outcome, _ in batch]
        try:
            reports = await in_store_thread("write", self.store.record_polls, outcomes,
                                            self.policy)
        except StoreError as error:
            for _, future in batch:
                future.set_exception(error)
            return
        except Exception as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            for single in batch:
                await self._write([single])
            return
        for (_, future), report in zip(batch, reports, strict=True):
            future.set_result(report)
