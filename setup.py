"""Build the Cython kernels, with OpenMP when the compiler supports it.

Metadata lives in pyproject.toml; this file only declares the extensions (as viprs's setup.py
does) so that the OpenMP probe can run at build time.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNELS = ["vibank.ld._ld_ops", "vibank.ld._band_rows", "vibank.prs._kernels._e_step",
           "vibank.prs._kernels._upper", "vibank.prs._kernels._gibbs", "vibank.qtl._kernels._cavi",
           "vibank.qtl._kernels._probit"]


def _openmp_flags(compiler):
    """Return (compile, link) flags if a tiny OpenMP program builds, else empty lists."""
    if os.environ.get("VIBANK_NO_OPENMP"):
        return [], []
    candidates = [(["-fopenmp"], ["-fopenmp"])]
    if sys.platform == "darwin":
        candidates.insert(0, (["-Xpreprocessor", "-fopenmp"], ["-lomp"]))
    src = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
    for cflags, lflags in candidates:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp, "omp_probe.c")
            path.write_text(src)
            try:
                objs = compiler.compile([str(path)], output_dir=tmp, extra_postargs=cflags)
                compiler.link_executable(objs, "omp_probe", output_dir=tmp, extra_postargs=lflags)
            except Exception:  # noqa: BLE001 - any failure means "no OpenMP"
                continue
        return cflags, lflags
    return [], []


class BuildExt(build_ext):
    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:  # the kernels are independent: compile them side by side (-j)
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        cflags, lflags = _openmp_flags(self.compiler)
        print(f"vibank: OpenMP {'enabled' if cflags else 'NOT available'}", file=sys.stderr)
        for ext in self.extensions:
            ext.extra_compile_args += ["-O3"] + cflags
            ext.extra_link_args += lflags
            ext.define_macros.append(("VIBANK_OPENMP", "1" if cflags else "0"))
        super().build_extensions()


extensions = [
    Extension(
        name,
        [str(Path("src", *name.split(".")).with_suffix(".pyx"))],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for name in KERNELS
]

setup(
    ext_modules=cythonize(extensions, language_level=3, nthreads=os.cpu_count() or 1),
    cmdclass={"build_ext": BuildExt},
)
