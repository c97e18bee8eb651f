"""Latency at batch 1 on this CPU: a whole sequence per call, and streaming one step per call with the state carried.

How: one torch thread (torch.set_num_threads(1), restored afterwards; onnxruntime sessions are built with one intra-
and one inter-op thread), gradients off, `warmup` untimed calls first, then `repeats` timed calls, each timed alone
with time.perf_counter; p50 and p95 are the median and 95th percentile of those times. Streaming times each step's
call (one input step in, the state and that step's output out) over the whole sequence, `streaming_repeats` times.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch
from torch import Tensor

METHOD = ("batch 1, one torch thread (onnxruntime: one intra- and one inter-op thread), {warmup} untimed warm-up "
          "calls, then {repeats} calls each timed with time.perf_counter; p50/p95 are the median and 95th "
          "percentile. Streaming: every step of the sequence timed alone (one step in, the state carried), "
          "{streaming_repeats} passes.")


@dataclass(frozen=True)
class Timing:
    repeats: int = 50
    warmup: int = 5
    streaming_repeats: int = 5

    def method(self) -> str:
        return METHOD.format(warmup=self.warmup, repeats=self.repeats, streaming_repeats=self.streaming_repeats)


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p95_ms: float


@contextmanager
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _percentiles(seconds: list[float]) -> Latency:
    milliseconds = np.asarray(seconds) * 1e3
    return Latency(float(np.percentile(milliseconds, 50)), float(np.percentile(milliseconds, 95)))


@torch.no_grad()
def sequence_latency(run: Callable[[Tensor], Tensor], example: Tensor, timing: Timing) -> Latency:
    """`run(example)` for one (1, T, D) sequence."""
    with one_thread():
        for _ in range(timing.warmup):
            run(example)
        seconds = []
        for _ in range(timing.repeats):
            started = time.perf_counter()
            run(example)
            seconds.append(time.perf_counter() - started)
    return _percentiles(seconds)


@torch.no_grad()
def streaming_latency(step: Callable, example: Tensor, timing: Timing) -> Latency:
    """`step(x_t (1, 1, D), state) -> (output, state)` for every step of one sequence, the state carried."""
    steps = [example[:, t : t + 1] for t in range(example.shape[1])]
    with one_thread():
        state = None
        for step_input in steps[: max(1, timing.warmup)]:
            _, state = step(step_input, state)
        seconds = []
        for _ in range(timing.streaming_repeats):
            state = None
            for step_input in steps:
                started = time.perf_counter()
                _, state = step(step_input, state)
                seconds.append(time.perf_counter() - started)
    return _percentiles(seconds)
