"""Run one mode for several engines on the same rows and tokenizer, streaming to JSONL files."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from jsonschema_bench.context import RunOptions
from jsonschema_bench.data import Item
from jsonschema_bench.engines import missing_requirement
from jsonschema_bench.pool import Pool, options_dict
from jsonschema_bench.results import ResultWriter, done_ids


def tokenizer_label(options: RunOptions) -> str:
    """Short name of the tokenizer in use: the model for ``generate``, a path's stem, or the
    packaged tokenizer name."""
    name = (options.model or "smollm2") if options.mode == "generate" else options.tokenizer
    return Path(name).stem if ("/" in name or "\\" in name) else name


def default_out(out_dir: str | Path, mode: str, engine: str, tokenizer: str) -> Path:
    """``<out_dir>/<mode>-<engine>-<tokenizer>.jsonl``."""
    return Path(out_dir) / f"{mode}-{engine.rsplit(':', 1)[-1]}-{tokenizer}.jsonl"


def run_engine(items: list[Item], options: RunOptions, out: Path, workers: int = 1,
               progress: bool = True) -> dict:
    """Run ``items`` not yet in ``out`` through one engine; returns the status counts.

    An engine whose package is missing is skipped with a message (returns ``{"skipped": ...}``).
    """
    if ":" not in options.engine:
        missing = missing_requirement(options.engine)
        if missing:
            print(f"[bench] engine {options.engine!r} skipped: {missing!r} is not installed",
                  file=sys.stderr)
            return {"skipped": f"{missing} not installed"}
    done = done_ids(out)
    todo = [i for i in items if i.id not in done]
    label = f"{options.mode}:{options.engine.rsplit(':', 1)[-1]}"
    if done:
        print(f"[bench] {label}: resuming {out} ({len(done)} done, {len(todo)} to go)",
              file=sys.stderr)
    if not todo:
        return {}
    tokenizer_name = tokenizer_label(options)
    options = dataclasses.replace(options, log_path=str(out.with_suffix(".log")))
    pool = Pool(options, workers)
    bar = tqdm(total=len(todo), desc=label, unit="schema", disable=not progress,
               dynamic_ncols=True)
    counts: Counter = Counter()
    with ResultWriter(out) as writer:

        def on_record(item: Item, record: dict) -> None:
            if not counts:  # first record: the meta line carries what the worker loaded
                writer.write({"type": "meta", "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                              "options": options_dict(options), **pool.meta})
            counts[record.get("status", "?")] += 1
            writer.write({"id": item.id, "subset": item.subset, "mode": options.mode,
                          "engine": label.split(":", 1)[1], "tokenizer": tokenizer_name,
                          **record})
            bar.update(1)
            bar.set_postfix(counts, refresh=False)

        try:
            pool.run(todo, on_record)
        finally:
            bar.close()
    return dict(counts)
