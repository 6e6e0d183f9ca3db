"""Named crash points for the crash-safety tests.

``AUDITOR_FAILPOINT=name`` makes the process kill itself (SIGKILL, like the OOM killer or a
power cut: no cleanup runs) when it reaches that point; ``name:SIGTERM`` sends SIGTERM instead
(what systemd and ``timeout`` send). Unset, a check is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal


def reached(name: str) -> None:
    wanted = os.environ.get("AUDITOR_FAILPOINT")
    if wanted is None:
        return
    point, _, signal_name = wanted.partition(":")
    if point == name:
        os.kill(os.getpid(), signal.Signals[signal_name or "SIGKILL"])
