"""wecom-auditor: a nightly compliance auditor for WeCom session-archive exports."""

import os

# Arrow's allocator (mimalloc) returns freed pages to the OS only after a delay; on a long audit it
# kept 150-270 MB of freed pages resident beyond what Arrow held, more date after date (the 10M
# archive's audit peak grew to 880-980 MB against 740 MB on 1M). Purging at once keeps the peak at
# a day's size. Read when pyarrow loads, so it is set before anything imports it; a value the
# operator set wins.
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")
# The Arrow allocator the operator chose, if any: the command line picks its own otherwise (see
# auditor/cli/__init__.py), and process_pool hands this one (or mimalloc) to the workers.
OPERATOR_ARROW_POOL = os.environ.get("ARROW_DEFAULT_MEMORY_POOL")

__version__ = "0.1.0"
