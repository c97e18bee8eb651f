"""What the engine tests share: waiting for a condition of a background thread, and training on one torch thread.

A module that wants one torch thread for its tests imports the autouse fixture:
`from tests.engine_support import one_torch_thread  # noqa: F401`."""
import time

import pytest
import torch

WAIT_SECONDS = 60  # generous: only a failing test waits this long


def wait_until(condition, seconds: float = WAIT_SECONDS) -> None:
    """Poll `condition` every 20 ms; fail the test if it is not true within `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    # As the app trains: on a loaded 2-core machine two OpenMP threads made these tiny models many times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
