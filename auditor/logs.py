"""Logging for unattended runs: a rotating file in W/logs/, plain lines on stderr when it is no terminal."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

LOGGER = logging.getLogger("auditor")


def setup(logs_dir: Path, *, to_stderr: bool) -> logging.Logger:
    logs_dir.mkdir(parents=True, exist_ok=True)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
    for handler in list(LOGGER.handlers):
        LOGGER.removeHandler(handler)
        handler.close()
    file_handler = logging.handlers.RotatingFileHandler(
        logs_dir / "auditor.log", maxBytes=5 * 1024 * 1024, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    LOGGER.addHandler(file_handler)
    if to_stderr:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        LOGGER.addHandler(stream)
    return LOGGER
