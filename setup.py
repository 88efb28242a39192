"""Build hook: compile the hot modules listed in ``grammar_decode/accel.py`` with Cython.

Optional by design: without Cython or a C compiler, or if one module fails to compile, the
package installs and runs as pure Python (a warning says which modules stay interpreted).
The compiled files go to ``grammar_decode/_accel/`` (next to the sources for an editable
install) with ``manifest.json``, the digest of each source as it was translated (with those it cimports), which
``accel.py`` checks before using a build.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("_gd_accel", ROOT / "grammar_decode" / "accel.py")
accel = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(accel)


def _warn(message: str) -> None:
    print(f"grammar-decode: {message}", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """Translates the modules (only when extensions are really built), compiles each one it
    can, then records the digests of the sources translated."""

    def run(self) -> None:
        out = (ROOT if self.inplace else Path(self.build_lib)) / "grammar_decode" / "_accel"
        out.mkdir(parents=True, exist_ok=True)
        self.built: list[str] = []  # extension names
        translated = self._translate()
        try:
            super().run()
        except Exception as error:  # noqa: BLE001 - e.g. no C compiler at all
            _warn(f"compiled modules not built ({error}): the matcher runs as pure Python")
        digests = {module: digest for module, digest in translated.items()
                   if accel.extension_name(module) in self.built}
        (out / accel.MANIFEST).write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n",
                                          encoding="utf-8")

    def _translate(self) -> dict[str, str]:
        """Replace the .py sources of the extensions by Cython's C; module -> source digest."""
        try:
            from Cython.Build import cythonize
        except ImportError:
            _warn("Cython is not installed: the matcher runs as pure Python")
            self.extensions = []
            return {}
        digests = {module: accel.build_digest(module, ROOT) for module in accel.MODULES}
        try:  # force: never compile a C file left from another version of a source
            c_files = {ext.name: ext.sources for ext in cythonize(
                self.extensions, build_dir="build/cython", quiet=True, force=True,
                include_path=[str(self._declarations())],
                compiler_directives={"language_level": 3, "annotation_typing": False})}
        except Exception as error:  # noqa: BLE001 - any failure leaves the pure-Python package
            _warn(f"Cython could not translate the hot modules ({error}): pure Python")
            self.extensions = []
            return {}
        for ext in self.extensions:  # setuptools' own Extension objects, sources replaced
            ext.sources = c_files[ext.name]
        return digests

    @staticmethod
    def _declarations() -> Path:
        """A folder where Cython finds each module's ``.pxd`` under the name it is compiled as
        (``grammar_decode._accel.<leaf>``, not the source's own package)."""
        folder = ROOT / "build" / "pxd"
        shutil.rmtree(folder, ignore_errors=True)
        target = folder / "grammar_decode" / "_accel"
        target.mkdir(parents=True)
        for package in (target.parent, target):
            (package / "__init__.pxd").write_text("", encoding="utf-8")
        for module in accel.MODULES:
            declarations = accel.declarations_path(accel.source_path(module, ROOT))
            if declarations.is_file():
                shutil.copyfile(declarations, target / (module.rsplit(".", 1)[1] + ".pxd"))
        return folder

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:  # noqa: BLE001 - this module stays interpreted
            _warn(f"{ext.name} not compiled ({error})")
            return
        self.built.append(ext.name)


def _numpy_headers() -> list[str]:
    """numpy's C headers (bits.pxd reads array fields through them); without numpy the
    modules that need them fail to compile and stay interpreted."""
    try:
        import numpy
    except ImportError:
        _warn("numpy is not importable at build time: maskstore.bits stays interpreted")
        return []
    return [numpy.get_include()]


HEADERS = _numpy_headers()
setup(ext_modules=[Extension(accel.extension_name(module),
                             [str(accel.source_path(module, ROOT).relative_to(ROOT))],
                             include_dirs=HEADERS,
                             define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
                   for module in accel.MODULES],
      cmdclass={"build_ext": OptionalBuildExt})
