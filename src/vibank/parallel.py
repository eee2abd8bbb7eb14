"""Work over independent items (chromosomes) on a few threads."""

from concurrent.futures import ThreadPoolExecutor


def thread_map(fn, items, n_threads=1):
    """``[fn(x) for x in items]`` on up to ``n_threads`` threads, in the items' order; the first
    exception (in that order) is raised. Worth it where ``fn`` mostly runs outside the GIL
    (parsing, decompressing, compiled kernels, zlib)."""
    items = list(items)
    if n_threads <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(min(n_threads, len(items))) as pool:
        return list(pool.map(fn, items))
