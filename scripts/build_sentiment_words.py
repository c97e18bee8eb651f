"""Derive the sentiment task's opinion words from published word lists and write assets/data/sentiment_words.tsv.

    pip install -r scripts/requirements-build.txt
    python scripts/build_sentiment_words.py

Every word the generated reviews use to carry an opinion comes from here, none is picked by hand:
- polarity: the VADER sentiment lexicon (vaderSentiment, MIT licence): the mean of ten raters' valence from -4 to +4.
  A word at or above +POLAR is positive, at or below -POLAR negative, within +-MILD neutral ("okay", "fine"); the
  words in between are left out, so no class boundary rests on a word raters barely split.
- the negators and intensifiers: VADER's own NEGATE list and its BOOSTER_DICT (the boosting half).
- part of speech: lemminflect's English lexicon (MIT licence), so only adjectives go where adjectives go ("the
  food was ___"). Its verb readings are too loose for "i ___ this product" (it lists "party" and "war" as verbs),
  so that slot takes the few verbs of OPINION_VERBS, which name the frame; VADER still decides their polarity
  (and drops any it does not rate as polar), and lemminflect gives their past tense ("we loved it").
- everyday words: wordfreq's Zipf frequency in English (code Apache-2.0, data CC BY-SA 4.0) at or above EVERYDAY,
  i.e. seen at least about twice per million words; rare words would only thin the training signal.
The output holds words and numbers only (word, role, polarity, VADER valence, Zipf frequency): see
assets/data/README.md for sources and licences.
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import lemminflect
from vaderSentiment import vaderSentiment
from wordfreq import zipf_frequency

OUT = Path(__file__).resolve().parent.parent / "assets" / "data" / "sentiment_words.tsv"
POLAR = 1.3  # |valence| at or above: positive or negative
MILD = 1.0  # |valence| at or below: neutral
EVERYDAY = 3.3  # Zipf frequency at or above (3 = once per million words)
NEUTRAL_EVERYDAY = 4.5  # the neutral adjectives: only the common ones, they are few and must read as a verdict
PER_POLARITY = 200  # adjectives kept per polarity, the most frequent first
# Verbs that take a product or a place as object ("i ___ this phone"); polarity from VADER, not from this list.
OPINION_VERBS = ("adore", "appreciate", "despise", "dislike", "enjoy", "hate", "like", "love", "recommend", "regret")
# VADER rates slurs and swearing like any other word; a classroom app must not generate them.
NOT_FOR_A_CLASSROOM = ("bastard", "bloody", "damn", "damned", "fascist", "racist", "retarded", "sexy")
WORD = re.compile(r"[a-z]+")


def lexicon() -> dict[str, float]:
    path = Path(vaderSentiment.__file__).with_name("vader_lexicon.txt")
    rows = (line.rstrip("\n").split("\t") for line in path.read_text(encoding="utf-8").splitlines())
    return {row[0]: float(row[1]) for row in rows if len(row) >= 2}


def polarity(valence: float, mild: float = MILD) -> int | None:
    if valence >= POLAR:
        return 1
    if valence <= -POLAR:
        return -1
    if abs(valence) <= mild:
        return 0
    return None


def rows() -> list[dict]:
    valences = lexicon()
    out: list[dict] = []
    for word, valence in sorted(valences.items()):
        if not WORD.fullmatch(word) or word in NOT_FOR_A_CLASSROOM:
            continue
        frequency = zipf_frequency(word, "en")
        if frequency < EVERYDAY:
            continue
        lemmas = lemminflect.getAllLemmas(word)
        sign = polarity(valence)
        if sign is None:
            continue
        # Participles read as adjectives ("annoying", "impressed"); VADER rates them, lemminflect knows their verb.
        participle = word.endswith(("ing", "ed")) and "VERB" in lemmas and lemmas["VERB"][0] != word
        if participle and "ADJ" not in lemmas and sign != 0:
            out.append({"word": word, "role": "adjective", "polarity": sign, "valence": valence, "zipf": frequency})
        # "like" is rated once but reads as a verb in reviews ("i like it"); a word takes one role.
        if "ADJ" in lemmas and word not in OPINION_VERBS and (sign != 0 or frequency >= NEUTRAL_EVERYDAY):
            out.append({"word": word, "role": "adjective", "polarity": sign, "valence": valence, "zipf": frequency})
        # Manner adverbs ("it works perfectly"): the -ly words lemminflect lists as adverbs.
        if "ADV" in lemmas and word.endswith("ly") and sign != 0 and word not in vaderSentiment.BOOSTER_DICT:
            out.append({"word": word, "role": "adverb", "polarity": sign, "valence": valence, "zipf": frequency})
        if word in OPINION_VERBS and sign != 0:
            out.append({"word": word, "role": "verb", "polarity": sign, "valence": valence, "zipf": frequency})
            past = lemminflect.getInflection(word, tag="VBD")
            if past and WORD.fullmatch(past[0]) and past[0] != word:
                # The past tense has its own rating when VADER has one ("adored" 1.8); it must keep the verb's sign.
                past_valence = valences.get(past[0], valence)
                if polarity(past_valence) == sign:
                    out.append({"word": past[0], "role": "verb_past", "polarity": sign, "valence": past_valence,
                                "zipf": zipf_frequency(past[0], "en")})
    # No noun frame ("it was a ___"): VADER's polar nouns lean to news words ("crisis", "prison"), not reviews.
    ranked = sorted((row for row in out if row["role"] == "adjective"), key=lambda row: (-row["zipf"], row["word"]))
    kept = {id(row) for sign in (-1, 1) for row in [r for r in ranked if r["polarity"] == sign][:PER_POLARITY]}
    out = [row for row in out if row["role"] != "adjective" or row["polarity"] == 0 or id(row) in kept]
    taken = {row["word"] for row in out}
    for word in sorted(vaderSentiment.NEGATE):
        if re.fullmatch(r"[a-z]+(?:'[a-z]+)?", word) and word not in taken:
            out.append({"word": word, "role": "negator", "polarity": 0, "valence": 0.0, "zipf": zipf_frequency(word, "en")})
    for word, increment in sorted(vaderSentiment.BOOSTER_DICT.items()):
        frequency = zipf_frequency(word, "en")
        adverb = "ADV" in lemminflect.getAllLemmas(word)
        if increment > 0 and WORD.fullmatch(word) and adverb and frequency >= EVERYDAY and word not in valences \
                and word not in taken:
            out.append({"word": word, "role": "intensifier", "polarity": 0, "valence": 0.0, "zipf": frequency})
    return out


def main() -> None:
    table = rows()
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["word", "role", "polarity", "valence", "zipf"], delimiter="\t",
                                lineterminator="\n")
        writer.writeheader()
        for row in table:
            writer.writerow({**row, "zipf": f"{row['zipf']:.2f}"})
    counts: dict[str, int] = {}
    for row in table:
        key = f"{row['role']} {row['polarity']:+d}"
        counts[key] = counts.get(key, 0) + 1
    print(f"{len(table)} rows in {OUT}: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
