"""A stand-in for a render that never finishes, run in the render child by the time-limit test."""

from __future__ import annotations

import os
import time
from pathlib import Path


def sleep(pid_file: str, seconds: float) -> str:
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(seconds)
    return "finished"
