"""Date normalisation, generated: "the 3rd of March 2021", "03/03/21", "March 3, 2021", "the third of march two
thousand and twenty one", with filler phrases before and after, all to "2021-03-03".

Numeric dates are day first (03/04/21 is the 3rd of April) and two-digit years follow Python's strptime (69-99 are
19xx, 00-68 are 20xx), so the years run from 1969 to 2068. The calendar days are split once: a tenth of them are
test days, never seen in training. Filler makes the input grow from 5 to about 40 tokens, so a model that must
squeeze the whole input into one vector (no attention) shows its bottleneck as the input grows. The baseline copies
the source, which is right only when the source is already in the canonical form.
"""
from __future__ import annotations

import datetime
import random
import re

from lstm_viz.core.tasks.translation_base import TranslationExample, TranslationTask

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
FIRST_DAY, LAST_DAY = datetime.date(1969, 1, 1), datetime.date(2068, 12, 31)
UNITS = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
ORDINAL_UNITS = ("", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
                 "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
                 "eighteenth", "nineteenth")
ORDINAL_TENS = {20: "twentieth", 30: "thirtieth"}
PREFIXES = ("", "on", "it was on", "the meeting is on", "we met on", "please book a table for", "i think it was",
            "my grandmother was born on", "the letter is dated", "send it before")
SUFFIXES = ("", "at noon", "if i remember well", "in the evening", "or so they say", "at the old town hall",
            "unless it rains", "according to the records")
TRAIN_COUNT, TEST_COUNT = 20_000, 1_000
TEST_DAY_FRACTION = 0.1
_TOKEN = re.compile(r"[a-z]+|\d+|[/\-.,]")


def number_words(n: int) -> str:
    """1-99 in words: 21 -> "twenty one"."""
    return UNITS[n] if n < 20 else f"{TENS[n // 10]} {UNITS[n % 10]}".strip()


def ordinal_words(n: int) -> str:
    """1-31 as an ordinal in words: 21 -> "twenty first"."""
    if n < 20:
        return ORDINAL_UNITS[n]
    return ORDINAL_TENS[n] if n % 10 == 0 else f"{TENS[n // 10]} {ORDINAL_UNITS[n % 10]}"


def year_words(year: int) -> str:
    """1972 -> "nineteen seventy two"; 2000 -> "two thousand"; 2021 -> "two thousand and twenty one"."""
    if year < 2000:
        return f"nineteen {number_words(year % 100)}"
    return "two thousand" + (f" and {number_words(year % 100)}" if year % 100 else "")


def ordinal_suffix(n: int) -> str:
    return "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


# Each format writes a date as text; all are read back by tokenize(). Named months are found by name; for numeric
# formats the month is the token at the given index.
FORMATS = {
    "ordinal": lambda d: f"the {d.day}{ordinal_suffix(d.day)} of {MONTHS[d.month - 1]} {d.year}",
    "day/month/yy": lambda d: d.strftime("%d/%m/%y"),
    "month day, year": lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    "day month year": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    "day mon year": lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year}",
    "iso": lambda d: d.isoformat(),
    "spelled out": lambda d: f"the {ordinal_words(d.day)} of {MONTHS[d.month - 1].lower()} {year_words(d.year)}",
}
NUMERIC_MONTH_INDEX = {"day/month/yy": 2, "iso": 2}


def tokenize(text: str) -> list[str]:
    """Lower-case letter runs, digit runs, and the marks / - . , each alone ("3rd" -> 3, rd)."""
    return _TOKEN.findall(text.lower())


def canonical_tokens(day: datetime.date) -> tuple[str, ...]:
    return tuple(tokenize(day.isoformat()))


def month_position(tokens: list[str], format_name: str, offset: int) -> int:
    """Index in the whole source of the token that gives the month (`offset` tokens of prefix before the date)."""
    if format_name in NUMERIC_MONTH_INDEX:
        return offset + NUMERIC_MONTH_INDEX[format_name]
    names = {m.lower() for m in MONTHS} | {m[:3].lower() for m in MONTHS}
    return next(i for i in range(offset, len(tokens)) if tokens[i] in names)


def make_example(day: datetime.date, format_name: str, prefix: str, suffix: str) -> TranslationExample:
    text = " ".join(part for part in (prefix, FORMATS[format_name](day), suffix) if part)
    tokens = tokenize(text)
    return TranslationExample(text, tuple(tokens), canonical_tokens(day),
                              month_position(tokens, format_name, len(tokenize(prefix))))


def split_days(seed: int = 0) -> tuple[list[datetime.date], list[datetime.date]]:
    """(train days, test days): every calendar day from 1969 to 2068 on exactly one side."""
    days = [FIRST_DAY + datetime.timedelta(n) for n in range((LAST_DAY - FIRST_DAY).days + 1)]
    random.Random(seed).shuffle(days)
    cut = round(len(days) * TEST_DAY_FRACTION)
    return days[cut:], days[:cut]


def generate_examples(days: list[datetime.date], count: int, seed: int, phrases: tuple[int, int] = (1, 3)
                      ) -> list[TranslationExample]:
    """`count` examples on days drawn from `days`; formats uniform, `phrases` (fewest, most) distinct filler phrases
    drawn on each side (one of them empty). The tasks' splits use 1-3; more makes inputs longer than training's."""
    rng = random.Random(seed)
    examples = []
    for _ in range(count):
        prefix = " ".join(p for p in rng.sample(PREFIXES, rng.randint(*phrases)) if p)
        suffix = " ".join(s for s in rng.sample(SUFFIXES, rng.randint(*phrases)) if s)
        examples.append(make_example(rng.choice(days), rng.choice(list(FORMATS)), prefix, suffix))
    return examples


class DateTask(TranslationTask):
    name = "dates"
    label = "Date normalisation (generated)"
    description = ("Rewrite a date written in any of seven ways, spelled out or with filler around it "
                   "(\"we met on the 3rd of March 2021 at noon\"), as 2021-03-03.")
    baseline_name = "copy the source"
    baseline_description = "output the source unchanged (right only when it is already written as 2021-03-03)"
    max_source_tokens = 60
    max_target_tokens = 8
    readable = "the unaccented letters a-z, the digits 0-9 and the marks / - . ,"
    example_inputs = ("we met on the 3rd of March 2021 at noon", "03/03/21", "March 3, 2021",
                      "the twenty first of june nineteen ninety nine", "i think it was 7 Dec 2004 in the evening")
    joiner = ""
    length_edges = (3, 9, 13, 17, 21, 25)

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text)

    def _build_examples(self) -> dict[str, list[TranslationExample]]:
        train_days, test_days = split_days()
        return {"train": generate_examples(train_days, TRAIN_COUNT, seed=1),
                "test": generate_examples(test_days, TEST_COUNT, seed=2)}

    def baseline_translation(self, example: TranslationExample) -> tuple[str, ...]:
        return example.source_tokens


DATES = DateTask()
