"""`python -m tests.jobs.launch <dramatiq arguments>`: the dramatiq command line, started the way
`merkato worker` starts it — from a process that has imported the backend already.

dramatiq forks its worker processes from this one, so they inherit the imported modules instead
of each importing the whole backend on its own: on a 2-core machine that halves the time a
worker group needs to boot, and the delivery tests boot many. Only modules are loaded before the
fork; the broker, the settings and every connection are made in each worker process by
tests.jobs.worker_entry:setup, exactly as without this.
"""

from __future__ import annotations

import sys

from dramatiq.cli import main

import tests.jobs.worker_entry  # noqa: F401  # the test jobs and the recording runtime
from backend.jobs.broker import load_jobs
from backend.jobs.runtime import WorkerRuntime  # noqa: F401  # what setup() imports late

if __name__ == "__main__":
    load_jobs()  # every backend/<domain>/tasks.py, as install() will import them again (a no-op then)
    sys.exit(main())  # type: ignore[no-untyped-call]  # dramatiq ships no annotations
