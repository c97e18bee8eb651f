"""The Translate page down the hard path: hostile sentences, crafted or damaged model files and reports in the
shipped folder, absurd links, and two sessions translating at once. Each ends in a message of the project's own,
with the rest of the page still drawn; crafted weights are refused before the safetensors library reads them."""
import json
import pickle
import shutil
import struct
import threading

import pytest

from lstm_viz.core.seq2seq import files
from lstm_viz.core.seq2seq.files import SHIPPED_DIR, load_translation_model
from lstm_viz.core.seq2seq.reading import read_sentence
from lstm_viz.core.tasks import TRANSLATION_TASKS
from lstm_viz.rules.errors import ModelFileError, UploadError
from tests.app_support import clear_caches, open_page  # noqa: F401 - clear_caches is an autouse fixture

PAGE = "pages/translate.py"
DATES, FRENCH = TRANSLATION_TASKS["dates"], TRANSLATION_TASKS["eng-fra"]


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


# ---------------------------------------------------------------------------------------------------------------
# sentences
@pytest.mark.parametrize("length", [10_000, 1_000_000])
def test_a_huge_sentence_is_refused_before_it_is_tokenised(monkeypatch, length):
    def never(text):
        raise AssertionError("tokenised a text over the limit")

    monkeypatch.setattr(FRENCH, "tokenize", never)
    with pytest.raises(UploadError, match=f"{length:,} characters; the limit is 300"):
        FRENCH.encode_typed("I am cold. " * (length // 11) + "x" * (length % 11))


@pytest.mark.parametrize("task, text", [(DATES, "أنا بردان"), (DATES, "ｉ ａｍ ｃｏｌｄ"), (FRENCH, "💥🥶 ⚡"),
                                        (FRENCH, "\x00\x01\x1b\u202e")])
def test_a_text_with_nothing_the_task_reads_says_what_it_reads(task, text):
    with pytest.raises(UploadError, match="this task reads only"):
        task.encode_typed(text)


def test_blank_and_unknown_only_texts_get_their_own_messages():
    for blank in ("", "   \t\n"):
        with pytest.raises(UploadError, match="type a sentence first"):
            FRENCH.encode_typed(blank)
    with pytest.raises(UploadError, match="none of these words is in the training vocabulary: zzqx, qqzz"):
        FRENCH.encode_typed("zzqx qqzz")


@pytest.mark.parametrize("noisy", ["\x00I am\x1b cold.", "\u202eI am cold.\u202c", "I am 🥶 cold. 💥",
                                   "I\u200b am cold."])
def test_control_characters_emoji_and_direction_marks_are_dropped_not_read(noisy):
    # The same translation as the clean sentence, computed separately.
    model, _ = load_translation_model(SHIPPED_DIR, "eng-fra", True)
    clean = read_sentence(model, FRENCH, "I am cold.", 3)
    read = read_sentence(model, FRENCH, noisy, 3)
    assert read.source_tokens == ["i", "am", "cold", "."]
    assert (read.greedy_tokens, read.beam_tokens) == (clean.greedy_tokens, clean.beam_tokens)


# ---------------------------------------------------------------------------------------------------------------
# model files
def _header(path):
    data = path.read_bytes()
    length = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + length]), data[8 + length:]


def _write(path, header, body):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)


def _reshape(weights):
    header, body = _header(weights)
    header["readout.weight"]["shape"] = [2**20, 2**20]
    _write(weights, header, body)


def _consistent_huge(weights):
    # A tensor whose shape and byte range agree with each other, 400 MB of them, in a file of 330 kB.
    header, body = _header(weights)
    start = header["readout.weight"]["data_offsets"][0]
    header["readout.weight"].update(shape=[50_000, 2_000], data_offsets=[start, start + 50_000 * 2_000 * 4])
    _write(weights, header, body)


def _dtype(weights):
    header, body = _header(weights)
    header["readout.bias"]["dtype"] = "F64"
    _write(weights, header, body)


def _padded(weights):
    weights.write_bytes(weights.read_bytes() + b"\0" * 4096)


def _training(**changes):
    def edit(config, _):
        stored = json.loads(config.read_text())
        stored["training"].update(changes)
        config.write_text(json.dumps(stored))
    return edit


CRAFTED = {
    "truncated weights": (lambda c, w: w.write_bytes(w.read_bytes()[:1000]), "not a readable safetensors"),
    "empty weights": (lambda c, w: w.write_bytes(b""), "not a readable safetensors"),
    "header length 2**63": (lambda c, w: w.write_bytes(struct.pack("<Q", 2**63) + w.read_bytes()[8:]),
                            "not a readable safetensors"),
    "a pickle": (lambda c, w: w.write_bytes(pickle.dumps({"weights": [1.0]})), "not a readable safetensors"),
    "a huge shape": (lambda c, w: _reshape(w), "does not match its config"),
    "a consistent huge tensor": (lambda c, w: _consistent_huge(w), "does not match its config"),
    "float64": (lambda c, w: _dtype(w), "readout.bias is not 136 float32"),
    "padded weights": (lambda c, w: _padded(w), "truncated or padded"),
    "config not JSON": (lambda c, w: c.write_bytes(b"\xff\xfe{{"), "not valid JSON"),
    "config of 50 MB": (lambda c, w: c.write_text(" " * 50_000_000), "50,000,000 bytes long"),
    "config a list": (lambda c, w: c.write_text("[1, 2]"), "not a translation model's config"),
    "hidden size 10**9": (_training(hidden_size=10**9), "hidden size must be between 1 and 512"),
    "another task's config": (_training(task="eng-fra"), "config of a eng-fra-attention model"),
    "an unknown setting": (_training(evil=1), "unexpected keyword argument 'evil'"),
    "a GRU's config for LSTM weights": (_training(cell="gru"), "does not match its config"),
    "weights a folder": (lambda c, w: (w.unlink(), w.mkdir()), "no trained dates-attention model"),
}


def _copy_shipped(directory):
    for name in ("dates-attention.json", "dates-attention.safetensors"):
        shutil.copy(SHIPPED_DIR / name, directory / name)
    return directory / "dates-attention.json", directory / "dates-attention.safetensors"


@pytest.mark.parametrize("case", CRAFTED)
def test_a_crafted_model_file_is_refused_before_its_weights_are_read(tmp_path, monkeypatch, case):
    craft, message = CRAFTED[case]
    craft(*_copy_shipped(tmp_path))

    def never(*args, **kwargs):
        raise AssertionError("the safetensors library read a file the header check should have refused")

    monkeypatch.setattr(files, "load_file", never)
    with pytest.raises(ModelFileError, match=message):
        load_translation_model(tmp_path, "dates", True)


def test_the_untouched_copy_loads_the_same_weights(tmp_path):
    from safetensors.torch import load_file

    _copy_shipped(tmp_path)
    model, config = load_translation_model(tmp_path, "dates", True)
    stored = load_file(str(SHIPPED_DIR / "dates-attention.safetensors"))
    assert config.task == "dates" and config.attention
    assert all(model.state_dict()[name].equal(tensor) for name, tensor in stored.items())


def _shipped_copy(tmp_path, monkeypatch):
    """A copy of the shipped folder the page reads instead of the real one."""
    folder = tmp_path / "translation"
    shutil.copytree(SHIPPED_DIR, folder)
    from lstm_viz.ui.translate import models
    monkeypatch.setattr(models, "SHIPPED_DIR", folder)
    return folder


def test_a_damaged_shipped_model_leaves_the_rest_of_the_page(tmp_path, monkeypatch):
    folder = _shipped_copy(tmp_path, monkeypatch)
    (folder / "dates-plain.safetensors").write_bytes(b"\x80\x04junk")
    at = open_page(PAGE)
    assert any("dates-plain.safetensors is not a readable safetensors file" in e.value for e in at.error)
    assert "Greedy: `" not in markdown(at)
    assert at.dataframe  # the measured metrics are still shown
    at.button(key="tr_train").click().run()  # its settings come from the damaged file: said, not raised
    assert not at.exception
    assert any("dates-plain.safetensors" in e.value for e in at.error)


@pytest.mark.parametrize("damage, message", [(b"{not json", "not valid JSON"), (b"[1, 2]", "not a measured report"),
                                             (b'{"model": 1}', "metrics of Date normalisation (generated) are damaged")])
def test_a_damaged_metrics_report_is_said_and_the_translation_still_shown(tmp_path, monkeypatch, damage, message):
    folder = _shipped_copy(tmp_path, monkeypatch)
    (folder / "metrics-dates-attention.json").write_bytes(damage)
    (folder / "measurements.json").write_bytes(b"x" * 300_000)
    at = open_page(PAGE)
    warnings = " ".join(w.value for w in at.warning)
    assert message in warnings and "measurements.json is 300,000 bytes long" in warnings
    assert markdown(at).count("`2021-03-03`") == 4


# ---------------------------------------------------------------------------------------------------------------
# links
@pytest.mark.parametrize("beam", ["0", "11", "-3", "1e999", "nan", "2.5", "99999999999999999999999"])
def test_a_beam_width_out_of_range_in_the_link_is_ignored_with_a_message(beam):
    at = open_page(PAGE, {"tr_beam": beam})
    assert at.slider(key="tr_beam").value == 3
    assert any("tr_beam" in w.value for w in at.warning)
    assert "Beam (width 3): `2021-03-03`" in markdown(at)


def test_a_link_with_only_a_task_brings_that_task_s_example():
    at = open_page(PAGE, {"tr_task": "eng-fra"})
    assert at.text_input(key="tr_text").value == FRENCH.example_inputs[0]
    assert not at.warning and not at.error  # no date read as unknown French words
    at = open_page(PAGE, {"tr_task": "eng-fra", "tr_text": "We won."})
    assert at.text_input(key="tr_text").value == "We won."


def test_a_link_s_sentence_over_the_limit_is_ignored_with_a_message():
    at = open_page(PAGE, {"tr_text": "I am cold. " * 100})
    assert at.text_input(key="tr_text").value == DATES.example_inputs[0]
    assert any("tr_text" in w.value for w in at.warning)


# ---------------------------------------------------------------------------------------------------------------
# sessions at once
def test_two_sessions_translating_in_turn_get_their_own_translations():
    """Two sessions' reruns interleaved on one server (shared models and readings): each shows its own sentence's
    translation. In one thread: AppTest's sessions are not thread-safe (widget ids collide), so the threads below
    exercise the engine the page calls instead."""
    sessions = {"dates": ("dates", "March 3, 2021"), "eng-fra": ("eng-fra", "I am cold.")}
    alone = {}
    for name, (task, text) in sessions.items():
        model, _ = load_translation_model(SHIPPED_DIR, task, True)
        alone[name] = TRANSLATION_TASKS[task].join(read_sentence(model, TRANSLATION_TASKS[task], text, 5).beam_tokens)
    pages = {name: open_page(PAGE, {"tr_task": task, "tr_text": text, "tr_beam": "5"})
             for name, (task, text) in sessions.items()}
    for _ in range(3):
        for width in (4, 5):
            for at in pages.values():
                at.slider(key="tr_beam").set_value(width).run()
    for name, at in pages.items():
        assert not at.exception
        assert f"Beam (width 5): `{alone[name]}`" in markdown(at)
    assert "2021-03-03" not in markdown(pages["eng-fra"]) and alone["eng-fra"] not in markdown(pages["dates"])


def test_readings_of_one_shipped_model_in_threads_at_once_match_each_read_alone():
    """What two sessions' script threads do at once: read different sentences with the same shared model."""
    task = TRANSLATION_TASKS["dates"]
    model, _ = load_translation_model(SHIPPED_DIR, "dates", True)
    texts = ["March 3, 2021", "the 21st of june 1999", "03/03/21", "i think it was 7 Dec 2004 in the evening"]
    alone = {text: task.join(read_sentence(model, task, text, 5).beam_tokens) for text in texts}
    together, failures = {}, []

    def read(text):
        try:
            for _ in range(3):
                together.setdefault(text, set()).add(task.join(read_sentence(model, task, text, 5).beam_tokens))
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            failures.append(f"{text}: {error!r}")

    threads = [threading.Thread(target=read, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == [] and together == {text: {translation} for text, translation in alone.items()}


def test_a_second_session_on_the_same_sentence_reuses_the_server_s_readings_and_figures(monkeypatch):
    from lstm_viz.figures import translation as figures
    from lstm_viz.ui.translate import models

    calls = {"read": 0, "heatmap": 0}
    real_read, real_heatmap, real_load = models.read_sentence, figures.token_state_heatmap, models.load_translation_model
    loads = []
    monkeypatch.setattr(models, "load_translation_model", lambda *args: loads.append(args[1:]) or real_load(*args))

    def counted_read(*args, **kwargs):
        calls["read"] += 1
        return real_read(*args, **kwargs)

    def counted_heatmap(*args, **kwargs):
        calls["heatmap"] += 1
        return real_heatmap(*args, **kwargs)

    monkeypatch.setattr(models, "read_sentence", counted_read)
    monkeypatch.setattr(figures, "token_state_heatmap", counted_heatmap)
    first = open_page(PAGE, {"tr_text": "March 3, 2021"})
    assert calls == {"read": 2, "heatmap": 4}  # two models; encoder and decoder of each
    second = open_page(PAGE, {"tr_text": "March 3, 2021"})
    assert calls == {"read": 2, "heatmap": 4}
    assert markdown(second) == markdown(first)
    second.selectbox(key="tr_quantity").set_value("forget_gate").run()
    assert calls == {"read": 2, "heatmap": 8}  # a new quantity: new heatmaps of the same readings
    assert sorted(loads) == [("dates", False), ("dates", True)]  # each shipped model read once for both sessions


TRANSLATION_FILE_CASES = 300


def test_generated_edits_of_a_shipped_model_file_end_in_our_error_or_a_model(tmp_path):
    # The house's generators (tests/fuzz_support.py): header edits of tensors, metadata and raw bytes.
    import time

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.fuzz_support import MODEL_TIME_BOUND_S, apply_edits, edit

    config, weights = _copy_shipped(tmp_path)
    header, body = _header(SHIPPED_DIR / "dates-attention.safetensors")
    endings = {"accepted": 0, "refused": 0}
    wanted = edit().filter(lambda one: one[0] in ("tensor", "metadata", "raw"))

    @settings(max_examples=TRANSLATION_FILE_CASES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(wanted, min_size=1, max_size=3))
    def one_case(edits):
        weights.write_bytes(apply_edits(header, body, edits))
        started = time.process_time()
        try:
            load_translation_model(tmp_path, "dates", True)
            endings["accepted"] += 1
        except ModelFileError:
            endings["refused"] += 1
        assert time.process_time() - started < MODEL_TIME_BOUND_S, edits

    one_case()
    assert sum(endings.values()) == TRANSLATION_FILE_CASES
    assert endings["refused"] > 0 and endings["accepted"] > 0, endings  # the edits reach both endings
