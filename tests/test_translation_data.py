"""The translation data and tasks: the shipped Tatoeba file and its attribution, the split by English sentence, the
vocabularies' special tokens and unknown words, and the date generator's labels read back by datetime.strptime."""
import datetime
import re

import pytest

from lstm_viz.core.tasks import TASKS, TRANSLATION_TASKS, get_translation_task
from lstm_viz.core.tasks import dates
from lstm_viz.data import translation_pairs as pairs_module
from lstm_viz.data.translation_pairs import (
    BOS_ID, EOS_ID, PAD_ID, UNK_ID, SentencePair, TokenVocabulary, read_pairs, split_by_source,
)
from lstm_viz.rules.errors import UploadError

SOURCE_FILE = "/work/shared/data/tatoeba-eng-fra-5000.tsv"


def test_the_shipped_file_keeps_every_pair_and_its_attribution():
    pairs = read_pairs()
    assert len(pairs) == 5000
    assert all(p.attribution.startswith("CC-BY 2.0 (France) Attribution: tatoeba.org #") for p in pairs)
    assert pairs[0] == SentencePair("Go.", "Va !", "CC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #1158250 (Wittydev)")


def test_the_reader_checks_sizes_and_columns_before_parsing(tmp_path, monkeypatch):
    big = tmp_path / "big.tsv"
    big.write_bytes(b"a\tb\tc\n" * 10)
    monkeypatch.setattr(pairs_module, "MAX_FILE_BYTES", 50)
    with pytest.raises(UploadError, match="60 bytes; the limit is 50"):
        read_pairs(big)
    monkeypatch.undo()
    broken = tmp_path / "broken.tsv"
    broken.write_text("Go.\tVa !\tok\nHi.\tSalut\n", encoding="utf-8")
    with pytest.raises(UploadError, match="line 2"):
        read_pairs(broken)


def test_no_test_sentence_is_seen_in_training():
    task = get_translation_task("eng-fra")
    train, test = task.examples("train"), task.examples("test")
    train_sources = {e.source_text for e in train}
    assert test and not any(e.source_text in train_sources for e in test)
    # Every pair is on exactly one side, and a tenth of the distinct English sentences are held out.
    assert len(train) + len(test) == 5000
    distinct = {p.source for p in read_pairs()}
    assert len({e.source_text for e in test}) == round(0.1 * len(distinct))


def test_the_split_keeps_all_translations_of_a_sentence_together():
    pairs = [SentencePair(s, f"{s}-{k}", "") for s in "abcdefghij" for k in range(3)]
    train, test = split_by_source(pairs, 0.3, seed=5)
    assert len(test) == 9 and {p.source for p in train}.isdisjoint({p.source for p in test})


def test_vocabularies_have_the_four_special_tokens_and_mark_unknown_words():
    vocabulary = TokenVocabulary.from_token_lists([["le", "chat"], ["le", "chien"]], min_count=1)
    assert vocabulary.words[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert vocabulary.words[4] == "le"  # most frequent first
    indices, unknown = vocabulary.encode(["le", "oiseau", "chat"])
    assert indices[1] == UNK_ID and unknown == [1]
    assert vocabulary.decode([vocabulary.index["le"], BOS_ID, vocabulary.index["chat"], EOS_ID, 5]) == ["le", "chat"]


@pytest.mark.parametrize("name", ["eng-fra", "dates"])
def test_typed_input_gets_clear_messages(name):
    task = get_translation_task(name)
    for text, message in (("", "type a sentence"), ("x" * 10_000, "10,000 characters"),
                          ("zzzq qqxz", "none of these words")):
        with pytest.raises(UploadError, match=message):
            task.encode_typed(text)
    indices, tokens, unknown = task.encode_typed(task.example_inputs[0] + " zzzq")
    assert tokens[-1] == "zzzq" and unknown == [len(tokens) - 1] and indices[-1] == UNK_ID


def test_translation_tasks_are_kept_out_of_the_sequence_model_registry():
    assert set(TRANSLATION_TASKS) == {"eng-fra", "dates"}
    assert not set(TRANSLATION_TASKS) & set(TASKS)


# ----- dates, against datetime.strptime -----
STRPTIME_FORMATS = {"day/month/yy": "%d/%m/%y", "month day, year": "%B %d, %Y", "day month year": "%d %B %Y",
                    "day mon year": "%d %b %Y", "iso": "%Y-%m-%d"}


def test_every_label_is_the_canonical_form_of_its_date():
    for example in dates.DATES.examples("test")[:300] + dates.DATES.examples("train")[:300]:
        label = "".join(example.target_tokens)
        parsed = datetime.datetime.strptime(label, "%Y-%m-%d").date()
        assert label == f"{parsed.year:04d}-{parsed.month:02d}-{parsed.day:02d}"


@pytest.mark.parametrize("format_name", sorted(STRPTIME_FORMATS))
def test_numeric_and_named_forms_parse_to_the_label(format_name):
    for day in (datetime.date(1969, 1, 1), datetime.date(1999, 12, 31), datetime.date(2000, 2, 29),
                datetime.date(2021, 3, 3), datetime.date(2068, 7, 14)):
        example = dates.make_example(day, format_name, "", "")
        read = datetime.datetime.strptime(example.source_text, STRPTIME_FORMATS[format_name]).date()
        assert read == day
        assert "".join(example.target_tokens) == read.strftime("%Y-%m-%d")


def test_ordinal_and_spelled_forms_name_the_same_date():
    day = datetime.date(2021, 3, 3)
    ordinal = dates.make_example(day, "ordinal", "we met on", "at noon")
    assert ordinal.source_text == "we met on the 3rd of March 2021 at noon"
    stripped = re.sub(r"(\d+)(st|nd|rd|th)", r"\1", ordinal.source_text)
    assert datetime.datetime.strptime(stripped, "we met on the %d of %B %Y at noon").date() == day
    spelled = dates.make_example(datetime.date(1999, 6, 21), "spelled out", "", "")
    assert spelled.source_text == "the twenty first of june nineteen ninety nine"
    assert "".join(spelled.target_tokens) == "1999-06-21"
    assert dates.year_words(2000) == "two thousand" and dates.ordinal_words(30) == "thirtieth"


def test_the_anchor_is_the_source_month():
    for example in dates.DATES.examples("test")[:500]:
        month = int(example.target_tokens[2])
        anchor = example.source_tokens[example.anchor_position]
        names = (dates.MONTHS[month - 1].lower(), dates.MONTHS[month - 1][:3].lower())
        assert anchor in names or int(anchor) == month


def test_no_test_day_is_a_training_day_and_inputs_grow_with_filler():
    train_days, test_days = dates.split_days()
    assert not set(train_days) & set(test_days)
    assert len(train_days) + len(test_days) == (dates.LAST_DAY - dates.FIRST_DAY).days + 1
    train_labels = {e.target_tokens for e in dates.DATES.examples("train")}
    assert not any(e.target_tokens in train_labels for e in dates.DATES.examples("test"))
    lengths = [len(e.source_tokens) for e in dates.DATES.examples("train")]
    assert min(lengths) <= 5 and max(lengths) >= 30
