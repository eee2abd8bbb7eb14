"""Write outputs atomically: to a temporary sibling, then rename, so no partial file survives."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` when the block succeeds.

    Works for files and directories (e.g. a Zarr store). On an exception the temporary is removed
    and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp / path.name
    try:
        yield target
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_table(df, path, **kwargs):
    """Write a DataFrame as TSV (gzip when the name ends in .gz) atomically."""
    path = Path(path)
    compression = "gzip" if path.suffix == ".gz" else None
    kwargs.setdefault("index", False)
    kwargs.setdefault("sep", "\t")
    with atomic_path(path) as tmp:
        if compression:
            # mtime=0 keeps gzip output byte-identical across runs with the same content; level
            # 6 (zlib's default) rather than gzip's 9: a 91 MB pQTL table in 2.9 s instead of
            # 8.8 s, 1.7 % larger
            df.to_csv(tmp, compression={"method": "gzip", "mtime": 0, "compresslevel": 6},
                      **kwargs)
        else:
            df.to_csv(tmp, **kwargs)
