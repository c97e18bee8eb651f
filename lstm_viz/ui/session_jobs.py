"""What a session's handle on a background job shares, whichever job it is (a run of the Train page, a length
sweep): the job, whether the page still polls it, and the release of every job when the browser disconnects.

One handle per job kind lives under one session key (session_run.RUN_KEY, sweep_state.SWEEP_KEY); the pages ask
the handle, never the job's own threads, so one Stop, one poll and one clean-up rule serve every kind."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import streamlit as st


class Job(Protocol):
    @property
    def alive(self) -> bool: ...


@dataclass
class Watched:
    """A background job as its session sees it. Subclasses name the job field and say how to stop it."""
    running: bool = False  # the page polls the job until it ends (then reruns once to show the result)

    def job(self) -> Job | None:
        raise NotImplementedError

    def is_running(self) -> bool:
        job = self.job()
        return self.running and job is not None and job.alive

    def ended(self) -> bool:
        """True once, on the first poll after the job ended."""
        job = self.job()
        if job is None or not self.running or job.alive:
            return False
        self.running = False
        return True


@st.cache_resource(scope="session", show_spinner=False, on_release=lambda jobs: [release(job) for job, release in jobs])
def _session_jobs() -> list[tuple[Job, Callable[[Job], None]]]:
    """This session's background jobs; Streamlit releases the list when the session disconnects, which lets go of
    each (a live training stops when no other session watches it; a sweep stops)."""
    return []


def release_on_disconnect(job: Job, release: Callable[[Job], None]) -> None:
    """Keep `job` until the session disconnects, then call `release(job)`; ended jobs are forgotten."""
    jobs = _session_jobs()
    jobs[:] = [(kept, how) for kept, how in jobs if kept.alive]
    jobs.append((job, release))
