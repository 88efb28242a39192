"""Compiled builds of the matcher's hot modules, used only while they match their source.

The parser's inner loops (Earley closure, token judgments, memo LRUs) are plain Python. The
build (``setup.py``) also compiles those modules, unchanged, with Cython into
``grammar_decode/_accel/`` when a C compiler is there: the same code, interpreted overhead
removed (about a fifth less time per cold mask on SQL and Go at 151k; see
``bench/masks.py``). The .py files stay the truth: a compiled module is imported instead of
its source only when the SHA-256 of the source it was built from (``_accel/manifest.json``)
equals the source's now, so an edited source is never shadowed by a stale build.
``GRAMMAR_DECODE_PURE=1`` turns compiled modules off.

Only the standard library is imported here: ``setup.py`` reads ``MODULES`` from this file.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import re
import sys
from pathlib import Path

# Compiled when the build can; each leaf name is unique (the compiled files are named by it).
MODULES = (
    "grammar_decode.compiler",
    "grammar_decode.lru",
    "grammar_decode.maskstore.bits",
    "grammar_decode.maskstore.remainders",
    "grammar_decode.maskstore.store",
    "grammar_decode.matcher.earley",
    "grammar_decode.matcher.matcher",
)
PACKAGE_DIR = Path(__file__).resolve().parent
ACCEL_DIR = PACKAGE_DIR / "_accel"
MANIFEST = "manifest.json"
PURE_ENV = "GRAMMAR_DECODE_PURE"


def source_path(module: str, root: Path = PACKAGE_DIR.parent) -> Path:
    """The .py file of ``module`` under the folder ``root`` that holds the package."""
    return root.joinpath(*module.split(".")).with_suffix(".py")


def declarations_path(path: Path) -> Path:
    """The Cython declarations (``.pxd``) beside a source: its types for the build only."""
    return path.with_suffix(".pxd")


def source_digest(path: Path) -> str:
    """SHA-256 of a source file's bytes, then of its declarations' when it has some (a build
    made with other declarations is another build)."""
    digest = hashlib.sha256(path.read_bytes())
    declarations = declarations_path(path)
    if declarations.is_file():
        digest.update(b"\0pxd\0" + declarations.read_bytes())
    return digest.hexdigest()


_CIMPORT = re.compile(r"^from grammar_decode\._accel\.(\w+) cimport", re.MULTILINE)


def cimports(module: str, root: Path = PACKAGE_DIR.parent) -> tuple[str, ...]:
    """The modules whose declarations ``module``'s own ``cimport`` (C-level types and calls):
    its build runs only on theirs."""
    declarations = declarations_path(source_path(module, root))
    if not declarations.is_file():
        return ()
    leaves = set(_CIMPORT.findall(declarations.read_text(encoding="utf-8")))
    return tuple(m for m in MODULES if m.rsplit(".", 1)[1] in leaves)


def build_digest(module: str, root: Path = PACKAGE_DIR.parent) -> str:
    """What a build of ``module`` is recorded under: its ``source_digest``, hashed with the
    build digests of the modules it cimports when it has any (a build is tied to the
    declarations it was compiled against)."""
    own = source_digest(source_path(module, root))
    others = cimports(module, root)
    if not others:
        return own
    digest = hashlib.sha256(own.encode())
    for other in others:
        digest.update(b"\0" + build_digest(other, root).encode())
    return digest.hexdigest()


def extension_name(module: str) -> str:
    """The name ``setup.py`` builds ``module`` under: ``grammar_decode._accel.<leaf>``."""
    return "grammar_decode._accel." + module.rsplit(".", 1)[1]


def compiled_name(module: str) -> str:
    """File name of ``module``'s compiled build in ``_accel/``."""
    return extension_name(module).rsplit(".", 1)[1] + importlib.machinery.EXTENSION_SUFFIXES[0]


def usable_builds(accel_dir: Path = ACCEL_DIR, root: Path = PACKAGE_DIR.parent
                  ) -> dict[str, Path]:
    """Module -> compiled file, for every build present whose recorded digest equals
    ``build_digest`` now and whose cimported modules are usable too."""
    try:
        manifest = json.loads((accel_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = {}
    for module in MODULES:
        built = accel_dir / compiled_name(module)
        recorded = manifest.get(module) if isinstance(manifest, dict) else None
        source = source_path(module, root)
        if recorded and built.is_file() and source.is_file() and (
                build_digest(module, root) == recorded):
            found[module] = built
    usable = False
    while not usable:  # a build whose cimported build is unusable cannot be imported
        usable = True
        for module in list(found):
            if any(other not in found for other in cimports(module, root)):
                del found[module]
                usable = False
    return found


class _BuildLoader(importlib.machinery.ExtensionFileLoader):
    """Loads a build, registered also under its extension name: the builds that cimport it
    look its types and C functions up there when they load."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> object:
        module = super().create_module(spec)
        sys.modules[extension_name(spec.name)] = module
        return module


class _CompiledFinder(importlib.abc.MetaPathFinder):
    """Imports the fresh compiled build of a module in place of its source, after the builds
    it cimports."""

    def __init__(self, builds: dict[str, Path]) -> None:
        self.builds = builds

    def find_spec(self, fullname: str, path: object = None, target: object = None
                  ) -> importlib.machinery.ModuleSpec | None:
        built = self.builds.get(fullname)
        if built is None:
            return None
        for other in cimports(fullname):
            importlib.import_module(other)
        loader = _BuildLoader(fullname, str(built))
        return importlib.util.spec_from_file_location(fullname, built, loader=loader)


_finder: _CompiledFinder | None = None


def install() -> None:
    """Put the finder of fresh compiled builds first on ``sys.meta_path`` (once; not when
    ``GRAMMAR_DECODE_PURE`` is set). Called by ``grammar_decode/__init__.py`` before any of
    ``MODULES`` is imported."""
    global _finder
    if _finder is not None or os.environ.get(PURE_ENV, "") not in ("", "0"):
        return
    builds = usable_builds()
    if builds:
        _finder = _CompiledFinder(builds)
        sys.meta_path.insert(0, _finder)


def is_compiled(loader: object) -> bool:
    """Whether a module with this ``__loader__`` runs from a compiled build."""
    return isinstance(loader, importlib.machinery.ExtensionFileLoader)


def status() -> dict[str, str]:
    """Per module of ``MODULES``: "compiled" or "source" (how it was or will be imported)."""
    def kind(module: str) -> str:
        loaded = sys.modules.get(module)
        if loaded is not None:
            compiled = is_compiled(getattr(loaded, "__loader__", None))
        else:
            compiled = _finder is not None and module in _finder.builds
        return "compiled" if compiled else "source"

    return {module: kind(module) for module in MODULES}
