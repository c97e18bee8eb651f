"""Upload fuzzing at scale: 30,000 generated hostile uploads (tests/upload_fuzz_inputs.py, the fuzz tests' own
generator) plus the worst shapes by hand at full size (5 MB of one character, 60,000 duplicate header names, ...).
Every input must end in the project's UploadError or clean data; the slow and memory-hungry ones are reported.

    python bench/fuzz_uploads.py                   # 30,000 inputs, a few minutes on a 2-core machine
    python bench/fuzz_uploads.py --count 2000      # a quick look

Times are compared with a baseline measured in the same run: pandas' C parser reading a clean 5 MB labelled-text
CSV straight from bytes (what the largest legitimate upload costs pandas alone). Memory is tracemalloc's peak,
measured again for the slowest and largest inputs only (tracing slows Python code several times).
"""
from __future__ import annotations

import argparse
import collections
import io
import os
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from tests.upload_fuzz_inputs import RandomChooser, Upload, check, generate  # noqa: E402

MB = 2**20


def worst_shapes() -> dict[str, Upload]:
    """Hand-made shapes at the size limits: each was slow, huge or a traceback somewhere before issue 10."""
    text = {
        "60,000 duplicate header names": "a," * 60_000 + "a\n1\n",
        "5 MB of one character": "a" * (5 * MB - 16),
        "5 MB of commas": "," * (5 * MB - 16),
        "5 MB of quotes": '"' * (5 * MB - 16),
        "5 MB of newlines under a header": "text,label\n" + "\n" * (5 * MB - 16),
        "CRLF/CR mix, BOM": "\ufefftext,label\r\n" + "hello there,x\r\nbye now,y\r" * 7_000,
        "lines of 1,000 quotes": ('"' * 1000 + "\n") * 5_000,
        "deeply doubled quotes": "text,label\n" + ('"' + '""' * 4000 + '",x\n') * 600,
        "200 columns x 7,500 rows": ",".join(f"c{i}" for i in range(200)) + "\n" + (",".join(["1.5"] * 200) + "\n") * 7_500,
        "first row of 9,000 cells": "text,label\n" + ("1," * 9000 + "\n") * 250,
        "labelled text, 20,000 rows": "text,label\n" + "".join(f"word{i % 997} other{i % 13} thing,l{i % 3}\n" for i in range(20_000)),
        "unclosed quote over 4 MB": 'text,label\n"' + "abc,def\n" * (4 * MB // 8),
    }
    shapes = {name: Upload("labelled", body.encode()[: 5 * MB], {}, ("by hand",)) for name, body in text.items()}
    series = "t,v\n" + "".join(f"{i},{(i * 7919) % 1000 / 10}\n" for i in range(20_000))
    shapes["series, 20,000 rows with a time column"] = Upload("series", series.encode(), {"time_column": "t"}, ("by hand",))
    dates = "t,v\n" + "".join(f"2024-01-01T{i % 24:02d}:{i % 60:02d}:00{'Z' if i % 2 else '+02:00'},{i % 9}\n" for i in range(20_000))
    shapes["series, 20,000 dates in mixed zones"] = Upload("series", dates.encode(), {"time_column": "t"}, ("by hand",))
    huge = "t,v\n" + "".join(f"{i},{'9' * 400}\n" for i in range(4_000))
    shapes["series, 400-digit integers"] = Upload("series", huge.encode()[: 2 * MB], {"column": "v"}, ("by hand",))
    return shapes


def timed(upload: Upload) -> tuple[float, str]:
    started = time.perf_counter()
    outcome = check(upload)
    return time.perf_counter() - started, outcome


def peak_bytes(upload: Upload) -> int:
    tracemalloc.start()
    try:
        check(upload)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def baseline_seconds() -> float:
    raw = ("text,label\n" + "".join(f"word{i % 997} other{i % 13} thing and more words,l{i % 3}\n"
                                    for i in range(5 * MB // 45))).encode()[: 5 * MB]
    raw = raw[: raw.rfind(b"\n") + 1]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        pd.read_csv(io.BytesIO(raw), engine="c", dtype=str)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=30_000)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--slow", type=float, default=0.5, help="report inputs slower than this many seconds")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    baseline = baseline_seconds()
    print(f"baseline: pandas C parser on a clean 5 MB labelled CSV: {baseline:.3f} s")

    print("\nworst shapes by hand (time, ratio to the baseline, tracemalloc peak):")
    for name, upload in worst_shapes().items():
        seconds, outcome = timed(upload)
        peak = peak_bytes(upload)
        print(f"  {name:42s} {len(upload.raw) / MB:5.2f} MB  {seconds:6.3f} s  {seconds / baseline:5.2f}x  "
              f"peak {peak / MB:6.1f} MB  {outcome}")

    kinds, mutations, outcomes = collections.Counter(), collections.Counter(), collections.Counter()
    results = []
    failures = []
    started = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.count):
        upload = generate(RandomChooser(seed))
        try:
            seconds, outcome = timed(upload)
        except Exception as error:  # noqa: BLE001 - a failure is what the bench looks for
            failures.append((seed, upload.kind, upload.mutations, f"{type(error).__name__}: {error}"[:200]))
            continue
        kinds[upload.kind] += 1
        mutations.update(upload.mutations or ("(none)",))
        outcomes[(upload.kind, outcome)] += 1
        results.append((seconds, seed, upload))
    total = time.perf_counter() - started
    print(f"\n{args.count:,} generated inputs in {total:.0f} s ({total / args.count * 1000:.1f} ms each); "
          f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("per kind (clean / refused): " + ", ".join(
        f"{kind} {outcomes[(kind, 'clean')]:,} / {outcomes[(kind, 'refused')]:,}" for kind in sorted(kinds)))
    print("per mutation: " + ", ".join(f"{name} {count:,}" for name, count in sorted(mutations.items())))
    results.sort(key=lambda item: item[0], reverse=True)
    slow = [item for item in results if item[0] > args.slow]
    print(f"\nslower than {args.slow} s: {len(slow)}")
    for seconds, seed, upload in results[:10]:
        print(f"  seed {seed:6d} {upload.kind:8s} {len(upload.raw) / MB:5.2f} MB {seconds:6.3f} s "
              f"{seconds / baseline:5.2f}x  {', '.join(upload.mutations) or '(no mutation)'}")
    candidates = {seed: upload for _, seed, upload in results[:20]}
    candidates.update({seed: upload for _, seed, upload in sorted(results, key=lambda r: -len(r[2].raw))[:20]})
    peaks = sorted(((peak_bytes(upload), seed, upload) for seed, upload in candidates.items()), key=lambda r: -r[0])
    print("\nmost memory (tracemalloc peak, slowest and largest inputs):")
    for peak, seed, upload in peaks[:5]:
        print(f"  seed {seed:6d} {upload.kind:8s} {len(upload.raw) / MB:5.2f} MB  peak {peak / MB:6.1f} MB  "
              f"{', '.join(upload.mutations) or '(no mutation)'}")
    print(f"\nfailures (anything but an UploadError or clean data): {len(failures)}")
    for seed, kind, applied, message in failures[:20]:
        print(f"  seed {seed} {kind} {applied}: {message}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
