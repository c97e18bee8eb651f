"""Fuzzing every way data comes in (issue 10): generated hostile uploads (tests/upload_fuzz_inputs.py: a plausible
series or labelled-text CSV, uploaded or pasted, with a few mutations such as BOMs, CRLF/CR mixes, blank lines,
duplicate or markdown names, unbalanced or doubled quotes, long lines, 400-digit numbers, values near 1e-310,
mixed time zones, NUL bytes, broken UTF-8) each end in the project's own UploadError or in clean data that trains
(a forecast task with a positive naive baseline, a labelled data set with a train/test split).

With test_uploads_series.py's two hypothesis tests (300 inputs) this makes 1,900 generated uploads per CI run.
bench/fuzz_uploads.py runs 30,000 of the same inputs and reports the slow ones.
"""
import collections

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.upload_fuzz_inputs import (
    BYTE_MUTATIONS, KINDS, MUTATION_NAMES, MUTATIONS, RandomChooser, check, generate,
)

FUZZ_EXAMPLES = 600  # per test below; 10-20 ms each


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KINDS), st.lists(st.sampled_from(MUTATION_NAMES), max_size=3), st.integers(0, 2**32 - 1))
def test_hostile_uploads_end_in_an_upload_error_or_clean_data(kind, mutations, seed):
    # Hypothesis picks the kind and the mutations (and shrinks a failure to the fewest); the seed fills in the rest.
    upload = generate(RandomChooser(seed), kind, mutations)
    assert check(upload) in ("clean", "refused")


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_seeded_hostile_uploads_end_in_an_upload_error_or_clean_data(seed):
    # The bench's own inputs (a seeded random.Random), so a slow case it reports is a seed to replay here.
    assert check(generate(RandomChooser(seed))) in ("clean", "refused")


def test_the_generator_reaches_every_mutation_and_both_outcomes():
    """A fuzz suite that only ever produced refused inputs, or never tried a mutation, would test little."""
    mutations, outcomes = collections.Counter(), collections.Counter()
    for seed in range(400):
        upload = generate(RandomChooser(seed))
        mutations.update(upload.mutations)
        outcomes[(upload.kind, check(upload))] += 1
    assert set(mutations) == set(MUTATIONS) | set(BYTE_MUTATIONS)
    for kind in ("series", "labelled", "pasted"):
        assert outcomes[(kind, "clean")] >= 10 and outcomes[(kind, "refused")] >= 10


def test_a_series_whose_test_changes_square_to_zero_on_the_scaled_axis_is_refused():
    # Found by this suite: values near 1e-310 beside one 3.0 vary, but their scaled changes square to 0, so the
    # naive baseline would be 0 and the verdict would divide by it.
    upload = generate(RandomChooser(7331761), "series", [])
    assert check(upload) == "refused"
