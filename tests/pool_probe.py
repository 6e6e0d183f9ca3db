"""A task for pool workers in tests (tests/test_process_pool.py): it must live in a module they can import."""

import sys


def imported(module: str) -> bool:
    """Whether ``module`` is imported in this worker before any task of its own imported it."""
    return module in sys.modules


def module_file(module: str) -> str:
    """Where this worker imported ``module`` from (importing it if it was not yet)."""
    __import__(module)
    return sys.modules[module].__file__ or ""


def arrow_allocator() -> str:
    """The allocator behind this worker's default Arrow memory pool."""
    import pyarrow as pa

    return pa.default_memory_pool().backend_name
