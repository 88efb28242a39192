"""Compiled builds of the hot modules: used only while fresh, and equal to the source.

The digest check is tested on a fake build folder. When this checkout has a fresh build
(``pip install -e .`` with a C compiler), the modules must then come from it, and a replay in
a subprocess running the pure-Python source must give the same masks bit for bit.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grammar_decode import accel

REPO = Path(__file__).resolve().parents[1]
MODULE = "grammar_decode.matcher.earley"


def _fake_build(tmp_path: Path, source_text: str, recorded: str | None) -> tuple[Path, Path]:
    root, built = tmp_path / "src", tmp_path / "accel"
    source = accel.source_path(MODULE, root)
    source.parent.mkdir(parents=True)
    source.write_text(source_text, encoding="utf-8")
    built.mkdir()
    (built / accel.compiled_name(MODULE)).write_bytes(b"not loaded here")
    manifest = {} if recorded is None else {MODULE: recorded}
    (built / accel.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return built, root


def test_a_build_is_used_only_with_its_source_digest(tmp_path: Path) -> None:
    text = "x = 1\n"
    digest = hashlib.sha256(text.encode()).hexdigest()
    built, root = _fake_build(tmp_path / "fresh", text, digest)
    assert accel.usable_builds(built, root) == {MODULE: built / accel.compiled_name(MODULE)}
    stale, root = _fake_build(tmp_path / "edited", "x = 2\n", digest)
    assert accel.usable_builds(stale, root) == {}
    unrecorded, root = _fake_build(tmp_path / "unrecorded", text, None)
    assert accel.usable_builds(unrecorded, root) == {}
    (built / accel.compiled_name(MODULE)).unlink()
    assert accel.usable_builds(built, root) == {}
    (unrecorded / accel.MANIFEST).write_text("{not json", encoding="utf-8")
    assert accel.usable_builds(unrecorded, root) == {}


def test_a_build_is_stale_once_its_declarations_change(tmp_path: Path) -> None:
    text = "x = 1\n"
    built, root = _fake_build(tmp_path, text, hashlib.sha256(text.encode()).hexdigest())
    declarations = accel.declarations_path(accel.source_path(MODULE, root))
    declarations.write_text("cdef class X:\n    pass\n", encoding="utf-8")
    assert accel.usable_builds(built, root) == {}  # built without these declarations
    manifest = {MODULE: accel.source_digest(accel.source_path(MODULE, root))}
    (built / accel.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert MODULE in accel.usable_builds(built, root)
    declarations.write_text("cdef class X:\n    cdef int y\n", encoding="utf-8")
    assert accel.usable_builds(built, root) == {}


FRESH = accel.usable_builds()
needs_build = pytest.mark.skipif(
    not FRESH or os.environ.get(accel.PURE_ENV, "") not in ("", "0"),
    reason="no fresh compiled build in this checkout (or GRAMMAR_DECODE_PURE is set)")


@needs_build
def test_fresh_builds_are_the_modules_imported() -> None:
    for module in accel.MODULES:
        importlib.import_module(module)
    status = accel.status()
    assert {m for m, kind in status.items() if kind == "compiled"} == set(FRESH)
    for module, path in FRESH.items():
        assert Path(sys.modules[module].__file__) == path
        # the name other builds cimport it by is the same module, not a second copy
        assert sys.modules[accel.extension_name(module)] is sys.modules[module]


_REPLAY = """
import hashlib, json, sys
import grammar_decode.accel as accel
from grammar_decode.compiler import compile_grammar
from grammar_decode.matcher.matcher import GrammarMatcher
from grammar_decode.vocab.packaged import load_tokenizer

tokenizer = load_tokenizer("gpt2")
digest = hashlib.sha256()
for grammar, document in json.loads(sys.argv[1]):
    compiled = compile_grammar(open(grammar).read(), tokenizer, cache_dir=False)
    matcher = GrammarMatcher(compiled)
    for token in tokenizer.encode(open(document).read(), add_special_tokens=False):
        digest.update(matcher.allowed_bitmask().tobytes())
        assert matcher.accept_token(token)
    digest.update(matcher.allowed_bitmask().tobytes())
print(json.dumps({"digest": digest.hexdigest(), "status": accel.status()}))
"""


def _replay(pure: bool) -> dict:
    cases = [(str(REPO / "grammars" / f"{g}.lark"), str(REPO / "tests" / "corpus" / g / d))
             for g, d in (("sql_select", "case_cast.sql"), ("go_subset", "stack.go"))]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env.pop(accel.PURE_ENV, None)
    if pure:
        env[accel.PURE_ENV] = "1"
    done = subprocess.run([sys.executable, "-c", _REPLAY, json.dumps(cases)], env=env,
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@needs_build
def test_compiled_and_source_modules_give_the_same_masks() -> None:
    compiled, pure = _replay(pure=False), _replay(pure=True)
    assert set(compiled["status"].values()) == {"compiled"}
    assert set(pure["status"].values()) == {"source"}
    assert compiled["digest"] == pure["digest"]


def _fake_builds(tmp_path: Path, sources: dict[str, tuple[str, str | None]]) -> tuple[Path, Path]:
    """A source tree and a build folder recording each module's build digest now."""
    root, built = tmp_path / "src", tmp_path / "accel"
    built.mkdir(parents=True)
    for module, (text, declarations) in sources.items():
        source = accel.source_path(module, root)
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(text, encoding="utf-8")
        if declarations is not None:
            accel.declarations_path(source).write_text(declarations, encoding="utf-8")
        (built / accel.compiled_name(module)).write_bytes(b"not loaded here")
    manifest = {module: accel.build_digest(module, root) for module in sources}
    (built / accel.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return built, root


MATCHER = "grammar_decode.matcher.matcher"
CIMPORTING = "from grammar_decode._accel.earley cimport EarleySet as CEarleySet\n"


def test_a_build_that_cimports_another_is_tied_to_it(tmp_path: Path) -> None:
    built, root = _fake_builds(tmp_path, {MODULE: ("x = 1\n", "cdef class EarleySet:\n    pass\n"),
                                          MATCHER: ("y = 2\n", CIMPORTING)})
    assert accel.cimports(MATCHER, root) == (MODULE,)
    assert accel.cimports(MODULE, root) == ()
    assert set(accel.usable_builds(built, root)) == {MODULE, MATCHER}
    # the struct the matcher was compiled against changed: both builds are stale
    earley_pxd = accel.declarations_path(accel.source_path(MODULE, root))
    earley_pxd.write_text("cdef class EarleySet:\n    cdef int y\n", encoding="utf-8")
    assert accel.usable_builds(built, root) == {}
    earley_pxd.write_text("cdef class EarleySet:\n    pass\n", encoding="utf-8")
    assert set(accel.usable_builds(built, root)) == {MODULE, MATCHER}
    # without the build it cimports, a build cannot load, however fresh its own source
    (built / accel.compiled_name(MODULE)).unlink()
    assert accel.usable_builds(built, root) == {}
