"""Worker processes with crash and timeout isolation.

Each worker runs Jobs and reports, before each risky stage, the result keys that stage decides.
If the worker dies (segfault, abort) or outlives the stage timeout, exactly those results become
CRASH / TIMEOUT, the worker is replaced, and the rest of the job is resubmitted; the parent never dies.
If the suite's own code raises in the worker, the stage's results become SUITE_ERROR (the traceback in
them and in the worker's log) and the rest of the job is resubmitted likewise.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable, Iterable

from conformance.plan import Work
from conformance.worker import Settings, Worker, pin_threads
from verdict.records import ErrorInfo, Result, error_info
from verdict.status import Status

STDERR_TAIL_LINES = 20


def _worker_main(conn, log_path: str, settings: Settings) -> None:
    # Everything the worker or its libraries print goes to its log, not the user's terminal.
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    pin_threads(settings.threads)
    worker = Worker(settings)
    while True:
        message = conn.recv()
        if message is None:
            return
        job, skip = message
        notify = lambda stage, keys: conn.send(("stage", stage, keys))  # noqa: E731
        try:
            for record in worker.execute(job, skip, notify):
                conn.send(("result", record))
        except Exception as exc:  # the suite's own code raised: say so loudly, keep the worker alive
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
            conn.send(("error", error_info(exc)))
        conn.send(("done",))


@dataclass
class _Slot:
    index: int
    log_path: Path
    process: multiprocessing.Process | None = None
    conn: object = None
    job: Work | None = None
    skip: set[str] = field(default_factory=set)
    stage: str = ""
    stage_keys: list[str] = field(default_factory=list)
    stage_started: float = 0.0


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _signal_name(exitcode: int | None) -> str:
    if exitcode is None or exitcode >= 0:
        return f"exit code {exitcode}"
    try:
        return signal.Signals(-exitcode).name
    except ValueError:
        return f"signal {-exitcode}"


class WorkerPool:
    def __init__(self, jobs: int, settings: Settings, logs_dir: Path, stage_timeout: float):
        self.context = multiprocessing.get_context("spawn")
        self.settings = settings
        self.stage_timeout = stage_timeout
        logs_dir.mkdir(parents=True, exist_ok=True)
        self.slots = [_Slot(i, logs_dir / f"worker-{i}.log") for i in range(jobs)]

    def _start(self, slot: _Slot) -> None:
        parent, child = self.context.Pipe()
        slot.process = self.context.Process(
            target=_worker_main, args=(child, str(slot.log_path), self.settings), daemon=True
        )
        slot.process.start()
        child.close()
        slot.conn = parent

    def _assign(self, slot: _Slot, job: Work, skip: set[str]) -> None:
        if slot.process is None or not slot.process.is_alive():
            self._start(slot)
        slot.job, slot.skip = job, set(skip)
        slot.stage, slot.stage_keys, slot.stage_started = "start", [], time.monotonic()
        slot.conn.send((job, slot.skip))

    def _kill(self, slot: _Slot) -> None:
        if slot.process is not None and slot.process.is_alive():
            slot.process.kill()
        if slot.process is not None:
            slot.process.join(5)
        if slot.conn is not None:
            slot.conn.close()
        slot.process, slot.conn = None, None

    def run(self, work: Iterable[tuple[Work, set[str]]], emit: Callable[[Result], None]) -> None:
        """Run every (job, keys already done) pair; call emit(record) for each raw result as it comes."""
        pending = deque(work)
        try:
            while pending or any(s.job for s in self.slots):
                for slot in self.slots:
                    if slot.job is None and pending:
                        self._assign(slot, *pending.popleft())
                busy = [s for s in self.slots if s.job]
                deadline = min(s.stage_started + self.stage_timeout for s in busy)
                waitables = [s.conn for s in busy] + [s.process.sentinel for s in busy]
                wait(waitables, timeout=max(0.0, deadline - time.monotonic()))
                for slot in busy:
                    self._service(slot, pending, emit)
        finally:
            for slot in self.slots:
                self._stop(slot)

    def _stop(self, slot: _Slot) -> None:
        """Idle workers are asked to exit; busy ones (an interrupted run) are killed."""
        if slot.job is None and slot.process is not None and slot.process.is_alive():
            try:
                slot.conn.send(None)
                slot.process.join(10)
            except OSError:
                pass
        self._kill(slot)

    def _service(self, slot: _Slot, pending: deque, emit) -> None:
        try:
            while slot.conn.poll():
                message = slot.conn.recv()
                kind = message[0]
                if kind == "stage":
                    slot.stage, slot.stage_keys, slot.stage_started = message[1], message[2], time.monotonic()
                elif kind == "result":
                    slot.skip.add(message[1].key)
                    emit(message[1])
                elif kind == "error":
                    error = message[1]
                    detail = f"the suite's own code failed during {slot.stage}: {error.type}: {error.message}"
                    self._fail_stage(slot, Status.SUITE_ERROR, detail, pending, emit, error)
                    return
                elif kind == "done":
                    slot.job = None
                    return
        except (EOFError, OSError):
            pass
        if not slot.process.is_alive():
            slot.process.join(1)
            detail = f"worker died ({_signal_name(slot.process.exitcode)}) during {slot.stage}"
            self._fail_stage(slot, Status.CRASH, detail, pending, emit)
        elif time.monotonic() - slot.stage_started > self.stage_timeout:
            detail = f"{slot.stage} ran past the {self.stage_timeout:g}s stage timeout"
            self._kill(slot)
            self._fail_stage(slot, Status.TIMEOUT, detail, pending, emit)

    def _fail_stage(self, slot: _Slot, status: Status, detail: str, pending: deque, emit, error: ErrorInfo | None = None) -> None:
        """The stage's results fail; the rest of the job goes back to the queue for a fresh worker."""
        text = (error.text + "\n" if error else "") + detail + "\n--- last worker output ---\n" + _tail(slot.log_path)
        error = ErrorInfo(type=error.type if error else status.value, message=detail, text=text)
        job = slot.job
        keys = [k for k in (slot.stage_keys or job.result_keys()) if k not in slot.skip]
        for runtime, shape in job.results_for(keys):
            result = job.result(runtime, shape, status, slot.stage, error=error, message=detail)
            emit(result)
            slot.skip.add(result.key)
        self._kill(slot)
        slot.job = None
        if any(k not in slot.skip for k in job.result_keys()):
            pending.appendleft((job, set(slot.skip)))

