"""apply_folder: files -> files, with decode / infer / encode overlapped in threads, equal-size
batching, skip-existing, atomic writes and the --compare gallery."""

from __future__ import annotations

import html
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import numpy as np

from translate.apply.files import (
    GALLERY_FILE,
    MARKER_FILE,
    ApplySummary,
    Job,
    normalise_format,
    plan,
)
from translate.apply.images import Decoded, decode, finish
from translate.apply.sources import keeps_grayscale
from translate.apply.translator import Translator
from translate.errors import UserError


def side_by_side(photo01: np.ndarray, output01: np.ndarray, longest: int = 2048) -> np.ndarray:
    """input | output as one uint8 RGB image, the input enlarged to the output's size."""
    import cv2

    height, width = output01.shape[:2]
    if photo01.shape[:2] != (height, width):
        photo01 = cv2.resize(photo01, (width, height), interpolation=cv2.INTER_CUBIC)
    pair = np.concatenate([photo01, output01], axis=1)
    shrink = longest / max(pair.shape[:2])
    if shrink < 1:
        size = (max(1, round(pair.shape[1] * shrink)), max(1, round(pair.shape[0] * shrink)))
        pair = cv2.resize(pair, size, interpolation=cv2.INTER_AREA)
    return np.clip(np.rint(pair * 255.0), 0, 255).astype(np.uint8)


def write_gallery(
    output: Path, jobs: list[Job], made_by: str = "", failed: list[tuple[Path, str]] = ()
) -> Path:
    """index.html: what made it (run or export, checkpoint, direction), every side-by-side
    image that exists captioned with its input's path, and the inputs that failed."""
    from translate.io_utils import atomic_write_text

    figures = []
    for job in jobs:
        if job.compare is None or not job.compare.is_file():
            continue
        href = quote(job.compare.relative_to(output).as_posix())
        caption = html.escape(job.relative.as_posix())
        figures.append(
            f'<figure><a href="{href}"><img loading="lazy" src="{href}" alt="{caption}"></a>'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    page = (
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>translate apply</title>\n"
        "<style>body{font-family:sans-serif;margin:1em;background:#fafafa}"
        "figure{display:inline-block;margin:.5em;vertical-align:top}"
        "img{max-width:46vw;max-height:60vh;border:1px solid #ccc}"
        "figcaption{font-size:.85em;color:#444}</style></head><body>\n"
        f"<h1>{len(figures)} images: input | output</h1>\n"
        + (f"<p class='made-by'>{html.escape(made_by)}</p>\n" if made_by else "")
        + "\n".join(figures)
        + _failed_section(failed)
        + "\n</body></html>\n"
    )
    path = output / GALLERY_FILE
    atomic_write_text(path, page)
    return path


def _failed_section(failed: list[tuple[Path, str]]) -> str:
    if not failed:
        return ""
    items = "".join(
        f"<li>{html.escape(str(path))}: {html.escape(reason)}</li>" for path, reason in failed
    )
    return f"\n<h2>{len(failed)} failed</h2>\n<ul class='failed'>{items}</ul>"


# ---------------------------------------------------------------------------------------------


def _progress(total: int, enabled: bool):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task):
            speed = task.finished_speed or task.speed
            return Text("-- img/s" if speed is None else f"{speed:.2f} img/s")

    return Progress(
        TextColumn("apply"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
        transient=False,
    )


def remove_stale_temporaries(output: Path, age_s: float = 60.0) -> list[Path]:
    """Hidden `.NAME.XXXX.tmp` files that an earlier, killed apply left in its output tree.

    Ours only (atomic_write_bytes' names) and older than a minute, so a write in flight, which
    lasts milliseconds, is never touched."""
    import re
    import time

    ours = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")
    now, removed = time.time(), []
    for path in output.rglob(".*.tmp"):
        try:
            if ours.fullmatch(path.name) and path.is_file() and now - path.stat().st_mtime > age_s:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed


def apply_folder(
    translator: Translator,
    inputs: str | Path,
    output: str | Path,
    *,
    recursive: bool = False,
    fmt: str = "png",
    quality: int | None = None,
    overwrite: bool = False,
    compare: bool = False,
    workers: int | None = None,
    progress: bool = True,
) -> ApplySummary:
    """Translate every image of INPUT into OUTPUT; returns what was done, skipped and failed.

    Outputs that exist are skipped unless `overwrite` (an interrupted run resumes); an input
    that cannot be read or translated is reported in the summary and the run goes on.
    """
    fmt = normalise_format(fmt)
    if quality is not None and not 1 <= quality <= 100:
        raise UserError(f"--quality {quality}: give 1..100 (for jpg and webp)")
    output = Path(output)
    jobs = plan(inputs, output, recursive=recursive, fmt=fmt, compare=compare)
    output.mkdir(parents=True, exist_ok=True)
    (output / MARKER_FILE).touch()
    remove_stale_temporaries(output)
    todo = [job for job in jobs if overwrite or not job.target.exists()]
    summary = ApplySummary(skipped=len(jobs) - len(todo), output=output)
    workers = workers or min(4, os.cpu_count() or 1)
    keep_gray = keeps_grayscale(translator.task)
    start = time.perf_counter()
    with _progress(len(todo), progress) as bar:
        bar_task = bar.add_task("apply", total=len(todo))
        _run_pipeline(translator, todo, summary, fmt, quality, keep_gray, workers, bar, bar_task)
    summary.seconds = time.perf_counter() - start
    if compare:
        summary.gallery = write_gallery(output, jobs, translator.made_by, summary.failed)
    return summary


def _run_pipeline(translator, todo, summary, fmt, quality, keep_gray, workers, bar, bar_task):
    lock = threading.Lock()

    def record(job: Job, error: BaseException | None) -> None:
        with lock:
            if error is None:
                summary.done += 1
            else:
                message = str(error).strip().splitlines()[0] if str(error).strip() else ""
                summary.failed.append((job.source, message or type(error).__name__))
        bar.advance(bar_task)

    def encode(job: Job, decoded: Decoded, output01: np.ndarray) -> None:
        from translate.data import imageio as io

        options = {} if quality is None else {"quality": quality}
        io.write_image_atomic(job.target, finish(decoded, output01, fmt, keep_gray), **options)
        if job.compare is not None:
            io.write_image_atomic(job.compare, side_by_side(decoded.photo, output01), quality=90)

    def encoded(job: Job, future: Future) -> None:
        record(job, future.exception())

    batch_size = translator.batch_size
    prefetch = 2 * workers + batch_size
    max_buffered = 2 * batch_size + workers
    with (
        ThreadPoolExecutor(workers, "decode") as readers,
        ThreadPoolExecutor(workers, "encode") as writers,
    ):
        pending_reads: deque = deque()
        pending_writes: deque = deque()
        upcoming = iter(todo)

        def refill():
            while len(pending_reads) < prefetch:
                job = next(upcoming, None)
                if job is None:
                    return
                pending_reads.append((job, readers.submit(decode, job.source)))

        def infer(batch: list[tuple[Job, Decoded]]) -> None:
            try:
                outputs = translator.translate_batch(np.stack([d.photo for _, d in batch]))
            except Exception as exc:  # noqa: BLE001 (one bad batch must not stop the run)
                for job, _ in batch:
                    record(job, exc)
                return
            for (job, decoded), out in zip(batch, outputs, strict=True):
                future = writers.submit(encode, job, decoded, out)
                future.add_done_callback(lambda f, job=job: encoded(job, f))
                pending_writes.append(future)
            while len(pending_writes) > prefetch:  # bounded memory: wait for the oldest write
                pending_writes.popleft().exception()

        buckets: dict[tuple, list] = {}
        refill()
        while pending_reads:
            job, future = pending_reads.popleft()
            refill()
            try:
                decoded = future.result()
            except Exception as exc:  # noqa: BLE001
                record(job, exc)
                continue
            key = decoded.photo.shape
            buckets.setdefault(key, []).append((job, decoded))
            if len(buckets[key]) >= batch_size:
                infer(buckets.pop(key))
            elif sum(map(len, buckets.values())) > max_buffered:
                infer(buckets.pop(max(buckets, key=lambda k: len(buckets[k]))))
        for key in list(buckets):
            infer(buckets.pop(key))
        for future in pending_writes:
            future.exception()  # wait; errors were recorded by the callback
