"""Process pool with per-phase time limits and a memory cap.

Each worker builds its context once, then runs one schema at a time. The parent enforces the
compile limit and the run limit by killing the worker (and starting a fresh one); a timeout,
a crash (signal, abort, out of memory) or an exception becomes a record and the run continues.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import resource
import signal
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterable

from jsonschema_bench.context import RunOptions
from jsonschema_bench.data import Item


#: Imported once by the fork server, so a fresh worker (after a timeout or crash) starts fast.
PRELOAD = ["jsonschema", "numpy", "torch", "transformers", "tokenizers",
           "jsonschema_bench.tasks"]


def _context() -> Any:
    """A fork-server context with the heavy imports preloaded (workers never inherit the
    parent's threads or state, unlike plain fork; much faster restarts than spawn)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


class SetupError(RuntimeError):
    """A worker could not build its context (engine missing, tokenizer unknown, ...)."""


def _limit_memory(megabytes: int) -> None:
    if megabytes > 0:
        cap = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _address_space_bytes() -> int:
    """Current virtual memory size of this process (what RLIMIT_AS caps); 0 if unknown."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def worker_main(conn: Connection, options: RunOptions) -> None:
    """Worker loop: build the context, then answer every item with one result record."""
    _limit_memory(options.memory_mb)
    if options.log_path:  # native warnings (e.g. xgrammar's) would garble the progress bar
        log = os.open(options.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 2)
        sys.stderr = os.fdopen(os.dup(2), "w", buffering=1)
    try:
        from jsonschema_bench.context import build_context
        from jsonschema_bench.tasks import TASKS

        ctx = build_context(options)
        task = TASKS[options.mode]
    except Exception as exc:
        conn.send(("fatal", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", ctx.meta))
    while True:
        item = conn.recv()
        if item is None:
            return

        def phase(name: str, partial: dict) -> None:
            conn.send(("phase", name, partial))

        try:
            record = task(ctx, item, phase)
        except MemoryError:
            record = {"status": "crash", "error": "MemoryError (memory cap reached)"}
        except Exception as exc:
            record = {"status": "error", "error": f"{type(exc).__name__}: {exc}",
                      "traceback": traceback.format_exc()[-2000:]}
        retire = options.memory_mb > 0 and (
            _address_space_bytes() > options.retire_at * options.memory_mb * 2**20)
        conn.send(("result", record, retire))
        if retire:
            return


@dataclass
class _Slot:
    proc: Any
    conn: Connection
    ready: bool = False
    item: Item | None = None
    phase: str = "setup"
    deadline: float = 0.0
    partial: dict = field(default_factory=dict)
    retiring: bool = False  # finished its item and is exiting; replaced without a record


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Pool:
    """Run items through ``workers`` processes; ``on_record`` receives each finished record."""

    def __init__(self, options: RunOptions, workers: int = 1) -> None:
        self.options = options
        self.workers = max(1, workers)
        self.mp = _context()
        self.meta: dict = {}

    def _spawn(self) -> _Slot:
        parent, child = self.mp.Pipe()
        proc = self.mp.Process(target=worker_main, args=(child, self.options), daemon=True)
        proc.start()
        child.close()
        return _Slot(proc, parent, deadline=time.monotonic() + self.options.setup_timeout)

    @staticmethod
    def _kill(slot: _Slot) -> None:
        if slot.proc.is_alive():
            slot.proc.kill()
        slot.proc.join(5)
        slot.conn.close()

    def _limit(self, phase: str) -> float:
        return self.options.compile_timeout if phase == "compile" else self.options.run_timeout

    def _assign(self, slot: _Slot, item: Item) -> None:
        slot.item, slot.phase, slot.partial = item, "compile", {}
        slot.deadline = time.monotonic() + self.options.compile_timeout
        slot.conn.send(item)

    def run(self, items: Iterable[Item], on_record: Callable[[Item, dict], None]) -> Counter:
        """Process every item; returns the count of records by status."""
        pending = list(items)[::-1]
        counts: Counter = Counter()
        if not pending:
            return counts
        slots = [self._spawn() for _ in range(min(self.workers, len(pending)))]

        def finish(slot: _Slot, record: dict) -> None:
            assert slot.item is not None
            counts[record.get("status", "?")] += 1
            on_record(slot.item, record)
            slot.item = None

        def replace(slot: _Slot) -> None:
            """Kill ``slot``'s worker; start a fresh one only if work remains for it."""
            self._kill(slot)
            if len(pending) > sum(s.item is None for s in slots if s is not slot):
                slots[slots.index(slot)] = self._spawn()
            else:
                slots.remove(slot)

        try:
            while slots and (pending or any(s.item is not None for s in slots)):
                for slot in slots:
                    if slot.ready and not slot.retiring and slot.item is None and pending:
                        self._assign(slot, pending.pop())
                next_deadline = min(s.deadline for s in slots) - time.monotonic()
                waitables = [s.conn for s in slots] + [s.proc.sentinel for s in slots]
                ready = wait(waitables, timeout=min(1.0, max(0.0, next_deadline)))
                for slot in list(slots):
                    if slot.conn in ready:
                        try:
                            message = slot.conn.recv()
                        except (EOFError, OSError):
                            message = None
                        if message is not None:
                            self._handle(slot, message, finish)
                            continue
                    if slot.proc.sentinel in ready or not slot.proc.is_alive():
                        slot.proc.join(1)
                        if not slot.ready:
                            raise SetupError(f"worker {_describe_exit(slot.proc.exitcode)} "
                                             "while setting up")
                        if slot.item is not None:
                            finish(slot, {**slot.partial, "status": "crash", "phase": slot.phase,
                                          "error": _describe_exit(slot.proc.exitcode)})
                        replace(slot)
                    elif time.monotonic() > slot.deadline and (slot.item or not slot.ready):
                        if not slot.ready:
                            raise SetupError(
                                f"worker setup exceeded {self.options.setup_timeout}s")
                        finish(slot, {**slot.partial, "status": "timeout", "phase": slot.phase,
                                      "error": f"{slot.phase} exceeded "
                                               f"{self._limit(slot.phase):g}s"})
                        replace(slot)
        finally:
            for slot in slots:
                try:
                    if slot.proc.is_alive() and slot.ready and slot.item is None:
                        slot.conn.send(None)
                        slot.proc.join(5)
                except (OSError, BrokenPipeError):
                    pass
                self._kill(slot)
        return counts

    def _handle(self, slot: _Slot, message: tuple, finish: Callable[[_Slot, dict], None]
                ) -> None:
        kind = message[0]
        if kind == "fatal":
            raise SetupError(message[1])
        if kind == "ready":
            slot.ready, slot.deadline = True, float("inf")
            self.meta = message[1]
        elif kind == "phase":
            slot.phase = message[1]
            slot.partial.update(message[2])
            slot.deadline = time.monotonic() + self._limit(slot.phase)
        elif kind == "result":
            finish(slot, message[1])
            slot.deadline = float("inf")
            slot.retiring = message[2]  # the worker exits now; a fresh one takes its place


def options_dict(options: RunOptions) -> dict:
    """The options as recorded in a result file's meta line."""
    return dataclasses.asdict(options)
