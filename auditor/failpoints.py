"""Named crash points for the crash-safety tests.

``AUDITOR_FAILPOINT=name`` makes the process kill itself (SIGKILL, like the OOM killer or a
power cut: no cleanup runs) when it reaches that point. Unset, a check is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal


def reached(name: str) -> None:
    if os.environ.get("AUDITOR_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
