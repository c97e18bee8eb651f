"""The fuzz suite of tests/test_fuzz_inputs.py at 30,000 inputs: crafted model files, URL values through every page's
parser and rules, and random links through AppTest. Reports per class the inputs tried, any failure, the slow cases,
the slowest and the most memory-hungry input, and the refusal time as a ratio of importing the unedited export
(measured in this run; the machine is shared).

Usage: python bench/fuzz.py [--model-files 15000] [--url-values 15000] [--links-per-page 5]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from any folder

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from tests.fuzz_support import (  # noqa: E402
    PAGES, FuzzReport, collect_page_keys, edge_links, open_page_cleanly, page_of, random_links, run_model_file_cases,
    run_url_cases,
)

SLOW_LINK_SECONDS = 10.0


def link_cases(page_keys: dict, per_page: int) -> FuzzReport:
    report = FuzzReport("links (AppTest)")

    def one(path: str, query: dict) -> None:
        try:
            seconds = open_page_cleanly(path, query)
        except AssertionError as error:
            report.failures.append(str(error)[:600])
            return
        report.cases += 1
        if seconds > report.slowest_seconds:
            report.slowest_seconds = seconds
            report.slowest_case = f"{seconds:.2f} s: {path} {json.dumps({k: v[:40] for k, v in query.items()})[:400]}"
        if seconds > SLOW_LINK_SECONDS:
            report.slow_cases.append(f"{seconds:.2f} s: {path}")

    for path in PAGES:
        if path in ("pages/home.py", "pages/import_model.py"):
            continue
        schema = page_keys[page_of(path)]
        for query in edge_links(schema):
            one(path, query)

        if per_page < 1:
            continue

        @settings(max_examples=per_page, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(random_links(schema.keys))
        def random_link(query):
            one(path, query)

        random_link()
    return report


def show(report: FuzzReport, load: str) -> None:
    print(f"\n== {report.kind}: {report.cases:,} inputs ({report.accepted:,} accepted, {report.refused:,} refused), "
          f"{len(report.failures)} failures; load average {load}")
    for failure in report.failures[:10]:
        print("  FAILURE", failure)
    if report.baseline_seconds:
        print(f"  the unedited export imports in {report.baseline_seconds * 1e3:.1f} ms of CPU (median of 20)")
        print(f"  slowest: {report.slowest_seconds / report.baseline_seconds:.1f}x that; {report.slowest_case}")
    else:
        print(f"  slowest: {report.slowest_case}")
    if report.hungriest_case:
        print(f"  most memory-hungry (tracemalloc peak of the import): {report.hungriest_case}")
    if report.rss_case:
        print(f"  largest rise of the peak RSS during one import: {report.rss_case}")
        print(f"  peak RSS above the warm baseline after every case (the generator's data included): "
              f"+{report.rss_growth_mb:.1f} MB")
    print(f"  slow cases: {len(report.slow_cases)}")
    for case in report.slow_cases[:10]:
        print("   ", case)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-files", type=int, default=15_000)
    parser.add_argument("--url-values", type=int, default=15_000)
    parser.add_argument("--links-per-page", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    # Model files first, so the process's peak RSS is theirs (AppTest and the pages come after).
    reports = [run_model_file_cases(args.model_files)]
    show(reports[-1], load_average())
    page_keys = collect_page_keys()
    reports.append(run_url_cases(page_keys, args.url_values))
    show(reports[-1], load_average())
    reports.append(link_cases(page_keys, args.links_per_page))
    show(reports[-1], load_average())
    total = sum(report.cases for report in reports)
    failures = sum(len(report.failures) for report in reports)
    print(f"\n{total:,} inputs in {time.perf_counter() - started:.0f} s, {failures} failures; load average {load_average()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
