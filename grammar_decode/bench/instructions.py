"""Instruction-count benchmark: CPU instructions of cold mask replays, counted by callgrind.

    python -m grammar_decode.bench.instructions [--grammars sql_select,go_subset]
                                                [--tokenizer qwen2.5] [--passes 2]
                                                [--trees DIR [DIR ...]] [--warm | --table]

Per-token times on this machine move by 30-80% between processes, so a 5% change in the
matcher cannot be seen in ``grammar_decode.bench.masks``. Instructions can: this script runs
each source tree under ``valgrind --tool=callgrind --instr-atstart=no``; the child compiles
the grammar, replays the corpus documents of ``tests/corpus/<grammar>/`` once (building the
mask stores), drops the parse caches, signals and blocks on a pipe; only then is counting
switched on (``callgrind_control -i on``) and the child released, for ``--passes`` replays
each after ``clear_parse_caches()`` (what the cold passes of the masks benchmark time); it
signals and blocks again while counting is switched off, before it exits.
``warm()`` is off unless ``--warm``, since what it does depends on a time budget (and under
callgrind it runs ~50x slower). ``--table`` counts with ``warm()``'s frame table, as a user's
process has it: first an ordinary process of the tree, with an empty disk cache folder, runs
``warm()`` with ample budgets and one replay (stores and table written there); then the
counted child compiles with that cache and reads the table (``frame_table.load``). The
folder starts empty for every count, as what ``warm()`` explores depends on the stores it
finds there; with the plans ending well within the budgets, the table is then the same each
time (Go at Qwen2.5: 45,861 judgments, counts within 0.03%). Each
tree runs from a copy at one fixed path with ``PYTHONHASHSEED=0``, so the same code does the
same work whichever folder it comes from.

The figure compared is the instructions *outside the C library's allocator* (glibc's
``malloc``/``free`` and their internals, read per function with ``callgrind_annotate``); the
allocator's own count is printed beside it. What the allocator does per call depends on the
state of its free lists, which differs between processes doing the same work: six counts of
one tree on 2026-12-05 spread over 17.303M-17.318M in all (one CI run once saw two counts
0.68% apart), and every difference between them lay in ``_int_malloc``, ``_int_free``,
``unlink_chunk`` and ``malloc_consolidate``; outside the allocator they spread over 485
instructions (0.003%), and the two counts of one ``--trees . .`` run were 0.025% apart. A
different environment (its size) moves the figure by ~0.1%.
The allocator's share is ~1% of the count; the code that calls it still counts (Python's
object allocator and numpy's allocation code are outside it).

``--trees`` compares source trees (checkouts or ``git worktree``s, each with its compiled
modules built by ``python setup.py build_ext --inplace`` when they should count). Printed
per grammar and tree: instructions (outside the allocator), instructions per replayed token,
the ratio to the first tree, the allocator's instructions, and how many of the hot modules
ran compiled. Needs ``valgrind`` (Debian package
``valgrind``); a run takes 1-3 minutes per grammar.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

REPO = Path(__file__).resolve().parents[2]
DEFAULT_GRAMMARS = ("sql_select", "go_subset")
MAX_TOKENS = 400  # as in grammar_decode.bench.masks
POLL_SECONDS = 0.2
TIMEOUT_SECONDS = 1800.0
TOOLS = ("valgrind", "callgrind_control", "callgrind_annotate")
STAGE = Path(tempfile.gettempdir(), "grammar-decode-instructions")  # see _staged
PREPARE_SECONDS = 120.0  # warm()'s budgets in --table's preparation: ample, so its plan ends
# glibc's allocator: its source folder (with debug information), else its internal functions
ALLOCATOR = re.compile(r"(?:^|/)malloc/[^:]*:|:(?:_int_\w+|malloc_consolidate|unlink_chunk[\w.]*)$")


def _replayer(grammar: str, tokenizer_name: str, cache: str, warm: bool
              ) -> tuple[Any, Callable[[], None], int]:
    """Compile ``grammar`` (disk cache ``cache``, none when empty; ``warm()`` first when
    ``warm``): the grammar, a function that replays its corpus once, its token count."""
    import torch

    from grammar_decode.bench.masks import GRAMMARS, _token_streams
    from grammar_decode.compiler import compile_grammar
    from grammar_decode.maskstore.bits import bitmask_words
    from grammar_decode.matcher.matcher import GrammarMatcher
    from grammar_decode.vocab.packaged import load_tokenizer

    torch.set_num_threads(1)
    tokenizer = load_tokenizer(tokenizer_name)
    text = (GRAMMARS / f"{grammar}.lark").read_text(encoding="utf-8")
    compiled = compile_grammar(text, tokenizer, cache_dir=cache or False)
    if warm:
        compiled.warm()
    streams = _token_streams(tokenizer, grammar, MAX_TOKENS)  # the tree's own corpus
    matcher = GrammarMatcher(compiled)
    bitmask = torch.zeros(1, bitmask_words(compiled.vocab_size), dtype=torch.int32)

    def replay() -> None:
        for ids in streams:
            matcher.reset()
            for tid in ids:
                matcher.fill_bitmask(bitmask)
                if not matcher.accept_token(tid):
                    raise SystemExit(f"{grammar}: the matcher rejected token {tid}")

    return compiled, replay, sum(len(ids) for ids in streams)


def _prepare(grammar: str, tokenizer_name: str, cache: str) -> None:
    """``--table``'s ordinary process: fill the empty folder ``cache`` with the stores and the
    frame table."""
    compiled, replay, _ = _replayer(grammar, tokenizer_name, cache, warm=False)
    compiled.warm(seconds=PREPARE_SECONDS, frame_seconds=PREPARE_SECONDS)
    replay()
    print(f"frame table entries {len(compiled.frame_table)}", flush=True)


def _child(grammar: str, tokenizer_name: str, passes: int, warm: bool, cache: str,
           signal: Path) -> None:
    """Run inside callgrind, with the tree under test first on ``sys.path``: compile (with
    the frame table read from ``cache`` when given), a first replay, then wait until
    ``signal`` (holding this pid) is deleted, replay ``passes`` times with cold parse
    caches, write ``signal`` again and wait until it is deleted."""
    from grammar_decode import accel
    from grammar_decode.matcher import frame_table

    compiled, replay, total = _replayer(grammar, tokenizer_name, cache, warm)
    if cache:
        frame_table.load(compiled, frame_table.table_path(compiled))
    replay()
    gc.collect()
    gc.freeze()
    compiled.clear_parse_caches()
    status = accel.status()
    compiled_modules = sum(state == "compiled" for state in status.values())
    print(f"tokens {total} modules {compiled_modules}/{len(status)} compiled "
          f"table {len(compiled.frame_table)}", flush=True)
    signal.write_text(str(os.getpid()))
    _wait_for_go(signal)
    for _ in range(passes):
        compiled.clear_parse_caches()
        replay()
    signal.write_text("done")
    _wait_for_go(signal)  # counting is switched off before the interpreter winds down


def _wait_for_go(signal: Path) -> None:
    """Block until the parent writes to the pipe beside ``signal``. A blocked read runs no
    instructions, so nothing of the wait is counted however long the parent takes to switch
    counting on or off (polling a file counted a load-dependent number of polls)."""
    with open(_go_pipe(signal), "rb") as pipe:
        pipe.read(1)


def _go_pipe(signal: Path) -> Path:
    """The FIFO the child blocks on (``count`` makes it beside ``signal``)."""
    return signal.with_name(signal.name + ".go")


def _go(signal: Path, process: subprocess.Popen) -> None:
    """Release the child from ``_wait_for_go`` (once it is reading the pipe)."""
    opened: list[int] = []

    def reader_there() -> bool:
        try:  # without a reader this fails at once instead of blocking
            opened.append(os.open(_go_pipe(signal), os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            return False
        return True

    _wait_for(reader_there, process, "the child to wait on its pipe")
    try:
        os.write(opened[0], b"1")
    finally:
        os.close(opened[0])


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen, what: str
              ) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not condition():
        if process.poll() is not None:
            raise RuntimeError(f"the child exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(POLL_SECONDS)


@contextlib.contextmanager
def _staged(tree: Path) -> Iterator[Path]:
    """A copy of the parts of ``tree`` the child uses (the package with its compiled modules,
    the grammars, the corpus) at one fixed path, held under a lock: object addresses, and so
    the orders of sets and dicts keyed by objects, depend on the paths a process sees (the
    same code counted from two folders differed by ~1%)."""
    STAGE.mkdir(parents=True, exist_ok=True)
    with (STAGE / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        staged = STAGE / "tree"
        shutil.rmtree(staged, ignore_errors=True)
        ignore = shutil.ignore_patterns("__pycache__")
        for part in ("grammar_decode", "grammars", "tests/corpus"):
            shutil.copytree(tree / part, staged / part, ignore=ignore)
        try:
            yield staged
        finally:
            shutil.rmtree(staged, ignore_errors=True)


def count(tree: Path, grammar: str, tokenizer: str, passes: int, warm: bool,
          table: bool = False) -> dict[str, object]:
    """Instructions of ``passes`` cold replays of ``grammar``'s corpus with the matcher of
    source tree ``tree`` (see the module docstring)."""
    with _staged(tree) as staged:
        signal, out, log = staged / "signal", staged / "callgrind.out", staged / "log"
        # a fixed string-hash seed: set and dict orders (so the work done) repeat between runs
        env = dict(os.environ, PYTHONPATH=str(staged), PYTHONHASHSEED="0", HF_HUB_OFFLINE="1")
        script = str(Path(__file__).resolve())
        cache = ""
        if table:
            cache = str(staged / "cache")  # empty: what warm() reaches depends on the stores there
            subprocess.run([sys.executable, script, "--prepare", grammar, tokenizer, cache],
                           cwd=staged, env=env, check=True, capture_output=True)
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                   f"--callgrind-out-file={out}", sys.executable, script, "--child", grammar,
                   tokenizer, str(passes), str(int(warm)), cache or "-", str(signal)]
        os.mkfifo(_go_pipe(signal))
        with log.open("w") as sink:
            process = subprocess.Popen(command, cwd=staged, env=env, stdout=sink,
                                       stderr=subprocess.STDOUT)
            _wait_for(lambda: signal.exists() and signal.read_text().isdigit(), process,
                      "the first replay")
            pid = signal.read_text()
            signal.unlink()
            subprocess.run(["callgrind_control", "-i", "on", pid], check=True,
                           capture_output=True)
            _go(signal, process)
            _wait_for(lambda: signal.exists() and signal.read_text() == "done", process,
                      "the counted replays")
            subprocess.run(["callgrind_control", "-i", "off", pid], check=True,
                           capture_output=True)
            _go(signal, process)
            process.wait(timeout=TIMEOUT_SECONDS)
        text = log.read_text()
        if process.returncode != 0:
            raise RuntimeError(f"{tree} {grammar}: child failed:\n{text[-2000:]}")
        totals = re.findall(r"^totals:\s*(\d+)", out.read_text(), re.M)
        first = re.search(r"^tokens (\d+) modules (.*) compiled table (\d+)$", text, re.M)
        if not totals or first is None:
            raise RuntimeError(f"{tree} {grammar}: no instruction totals:\n{text[-2000:]}")
        tokens = int(first.group(1))
        allocator = _allocator_instructions(out)
        instructions = sum(int(t) for t in totals) - allocator
        return {"instructions": instructions, "allocator": allocator, "tokens": tokens,
                "per_token": instructions / (tokens * passes),
                "modules": f"{first.group(2)} compiled", "table": int(first.group(3))}


def _allocator_instructions(out: Path) -> int:
    """Instructions the C library's allocator ran itself (see the module docstring), from
    the callgrind output ``out``."""
    report = subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100", str(out)],
                            check=True, capture_output=True, text=True).stdout
    return allocator_cost(report)


def allocator_cost(report: str) -> int:
    """The self cost of glibc's allocator functions in a ``callgrind_annotate`` report (lines
    ``cost (share)  file:function [object]``; only functions of ``libc.so`` count)."""
    functions = re.findall(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+) \[[^\]]*libc\.so[^\]]*\]$",
                           report, re.M)
    return sum(int(cost.replace(",", "")) for cost, name in functions if ALLOCATOR.search(name))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["--child"], ["--prepare"]):
        del sys.path[0]  # this file's folder: the tree under test is on PYTHONPATH
        if argv[0] == "--prepare":
            _prepare(*argv[1:4])
            return 0
        grammar, tokenizer, passes, warm, cache, signal = argv[1:7]
        _child(grammar, tokenizer, int(passes), warm == "1", "" if cache == "-" else cache,
               Path(signal))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grammars", default=",".join(DEFAULT_GRAMMARS))
    parser.add_argument("--tokenizer", default="qwen2.5")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--trees", nargs="+", type=Path, default=[REPO],
                        help="source trees to compare (default: this one)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--warm", action="store_true", help="run warm() before counting")
    mode.add_argument("--table", action="store_true",
                      help="count with the frame table warm() makes in an ordinary process")
    args = parser.parse_args(argv)
    for tree in args.trees:
        if not (tree / "grammar_decode").is_dir():
            parser.error(f"{tree} is not a source tree (no grammar_decode/ in it)")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        parser.error(f"needs {' and '.join(missing)} (Debian package valgrind)")
    for grammar in args.grammars.split(","):
        base = None
        for tree in args.trees:
            found = count(tree.resolve(), grammar, args.tokenizer, args.passes, args.warm,
                          args.table)
            base = base or found["instructions"]
            print(f"{grammar:12s} {str(tree):28s} {found['instructions']:>15,d} instr "
                  f"{found['per_token']:>12,.0f}/token  x{found['instructions'] / base:.3f}  "
                  f"(+{found['allocator']:,d} in malloc)  "
                  f"{found['modules']}, frame table {found['table']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
