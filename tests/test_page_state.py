"""The page-state schema (lstm_viz/ui/page_schemas.py): every key of every page goes value -> address text -> value,
and through a real run of its page (the link fills the widget, the address is written back); a changed address
drives the view in the same session; a hostile value for any key is refused with the page's warning, never a
traceback. The texts below are written by hand: what the address must say, not what the code says it says."""
import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as hst
from streamlit.testing.v1 import AppTest

from lstm_viz.ui import page_schemas, state
from lstm_viz.ui.page_state import read_query
from tests.app_support import APP, TIMEOUT, clear_caches, open_page  # noqa: F401 - clear_caches is an autouse fixture
from tests.fuzz_support import url_text
from tests.test_url_state import address, widget

# {page: {key: (value, its address text)}}: a value other than the default where the bundled runs allow one (the
# explorer run has one layer, so its layer keys keep 0), fitting the bundled run each page shows.
EXAMPLES = {
    "app": {"presenter": (True, "1")},
    "train": {
        "preset": ("forget-bias", "forget-bias"), "task": ("copy", "copy"),
        "task_options": ({"forecast": {"series": "co2"}}, '{"forecast":{"series":"co2"}}'),
        "length": (30, "30"), "archs": (["gru", "lstm"], "gru,lstm"), "hidden_size": (32, "32"),
        "num_layers": (2, "2"), "learning_rate": (0.003, "0.003"), "batch_size": (32, "32"),
        "optimizer": ("rmsprop", "rmsprop"), "clip_enabled": (False, "0"), "clip_threshold": (2.5, "2.5"),
        "forget_bias": (-1.5, "-1.5"), "seed": (7, "7"), "max_steps": (250, "250"), "train_to_budget": (True, "1"),
        "heads": (4, "4"), "positions": ("learned", "learned"),
    },
    "try_it": {
        "try_source": ("brackets-rnn-lstm", "brackets-rnn-lstm"), "try_arch": ("rnn", "rnn"),
        "try_text": ("not bad at all .", "not bad at all ."), "try_paste": ("(a [b])", "(a [b])"),
        "try_temperature": (1.2, "1.2"), "try_sample_length": (120, "120"), "try_prompt": ("[", "["),
        "try_seed": (5, "5"), "try_feature": ("inside quotes", "inside quotes"),
    },
    "forecast": {"forecast_anomaly_seed": (7, "7"), "forecast_detector": ("rnn", "rnn")},
    "gates_memory": {
        "gm_arch": ("gru", "gru"), "gm_step": (200, "200"), "gm_layer": (0, "0"), "gm_source": ("test", "test"),
        "gm_example": (3, "3"), "gm_probe": (2, "2"), "gm_text": ("1,2,3", "1,2,3"), "gm_order": ("peak", "peak"),
        "gm_pick": ("hand", "hand"), "gm_units": ([3, 7], "3,7"), "gm_state": ("hidden_state", "hidden_state"),
        "gm_search": ("span", "span"), "gm_feature": ("value", "value"), "gm_span_start": (10, "10"),
        "gm_span_end": (30, "30"), "gm_span_method": ("match", "match"), "gm_threshold": (0.5, "0.5"),
        "gm_compare": (False, "0"), "gm_head": (1, "1"),
    },
    "gradient_lab": {
        "glab_tab": ("Clamp the forget gate", "Clamp the forget gate"), "glab_step": (300, "300"),
        "glab_layer": (0, "0"), "glab_relative": (False, "0"), "glab_play": (True, "1"), "glab_example": (2, "2"),
        "glab_clamp": (0.8, "0.8"), "glab_clip_arch": ("lstm", "lstm"), "glab_clip_opt": ("run", "run"),
        "glab_clip_steps": (400, "400"),
    },
    "inside_cell": {
        "cell_mode": ("trained", "trained"), "cell_arch": ("gru", "gru"), "cell_example": (2, "2"),
        "cell_checkpoint": (150, "150"), "cell_layer": (0, "0"), "cell_step": (40, "40"), "cell_unit": (5, "5"), "cell_head": (1, "1"),
        "cell_sb_x": (-1.5, "-1.5"), "cell_sb_h": (0.25, "0.25"), "cell_sb_c": (2.0, "2"), "cell_sb_bi": (-3.0, "-3"),
        "cell_sb_bf": (2.5, "2.5"), "cell_sb_bg": (0.1, "0.1"), "cell_sb_bo": (1.5, "1.5"),
    },
    "length_sweep": {
        "sweep_task": ("copy", "copy"), "sweep_lengths": (["10", "20"], "10,20"),
        "sweep_archs": (["gru", "lstm"], "gru,lstm"), "sweep_seeds": (2, "2"), "sweep_steps": (300, "300"),
        "sweep_hidden": (16, "16"), "sweep_lr": (0.005, "0.005"), "sweep_batch": (32, "32"),
    },
    "translate": {
        "tr_task": ("eng-fra", "eng-fra"), "tr_text": ("We won.", "We won."), "tr_beam": (5, "5"),
        "tr_quantity": ("forget_gate", "forget_gate"), "tr_models": ("session", "session"), "tr_steps": (500, "500"),
        "tr_cell": ("gru", "gru"),
    },
    "deploy_small": {
        "deploy_source": ("sentiment-rnn-lstm", "sentiment-rnn-lstm"),
        "deploy_arch": ("rnn", "rnn"),
        "deploy_fine_tune": (100, "100"),
    },
    "lab": {
        "lab_practice": ("tuning", "tuning"),
        "lab_fit_series": ("airline", "airline"), "lab_fit_hidden": (32, "32"), "lab_fit_steps": (400, "400"),
        "lab_fit_dropout": (0.5, "0.5"), "lab_fit_decay": (0.3, "0.3"), "lab_fit_patience": (20, "20"),
        "lab_norm_series": ("co2", "co2"), "lab_norm_arch": ("gru", "gru"), "lab_norm_steps": (300, "300"),
        "lab_base_series": (["co2", "sunspots"], "co2,sunspots"), "lab_base_steps": (200, "200"),
        "lab_len_arch": ("gru", "gru"), "lab_len_min": (5, "5"), "lab_len_max": (40, "40"), "lab_len_cut": (15, "15"),
        "lab_len_hidden": (16, "16"), "lab_len_steps": (300, "300"),
        "lab_tune_lrs": (["0.001", "0.03"], "0.001,0.03"), "lab_tune_hiddens": (["8", "128"], "8,128"),
        "lab_tune_batches": (["16"], "16"), "lab_tune_steps": (400, "400"), "lab_tune_view": ("metric", "metric"),
        "lab_stack_arch": ("rnn", "rnn"), "lab_stack_hidden": (24, "24"), "lab_stack_steps": (250, "250"),
    },
    "gestures": {
        "gest_source": ("session", "session"), "gest_example": ("star", "star"), "gest_arch": ("gru", "gru"),
        "gest_unit": (5, "5"),
    },
    "music": {
    },
    "home": {}, "import_model": {},
}
# A second link where one key picks the other half of a page, so that half's widgets are drawn and checked too.
OTHER_HALVES = {"inside_cell": {"cell_mode": ("sandbox", "sandbox")},
                "gates_memory": {"gm_source": ("probe", "probe"), "gm_search": ("feature", "feature")}}


def test_the_examples_cover_every_key_of_every_page_and_the_train_page_s_settings():
    assert {name: set(keys) for name, keys in EXAMPLES.items()} == {
        name: set(schema.keys) for name, schema in page_schemas.SCHEMAS.items()}
    assert page_schemas.TRAIN.keys == state.SETTING_KEYS  # the RunConfig's settings, each in the address


@pytest.mark.parametrize("page, key", [(page, key) for page, keys in EXAMPLES.items() for key in keys])
def test_every_key_goes_value_to_address_text_and_back(page, key):
    schema = page_schemas.SCHEMAS[page]
    value, text = EXAMPLES[page][key]
    field = schema.by_key[key]
    assert value != field.default or key.endswith("_layer") or key in ("gm_source", "cell_mode")
    assert field.text(value) == text
    current = {**schema.defaults, **{k: v for k, (v, _) in EXAMPLES[page].items()}}  # the length of the copy task
    values, refused = read_query(schema, {key: text}, current)
    assert refused == [] and values[key] == value and type(values[key]) is type(value)


def page_path(name: str) -> str:
    return page_schemas.SCHEMAS[name].path


@pytest.mark.parametrize("page", ["train", "try_it", "forecast", "gates_memory", "gradient_lab", "inside_cell",
                                  "length_sweep", "translate"])
def test_a_link_with_every_key_fills_each_widget_and_is_written_back(page):
    for examples in (EXAMPLES[page], {**EXAMPLES[page], **OTHER_HALVES.get(page, {})}):
        at = open_page(page_path(page), {key: text for key, (_, text) in examples.items()})
        assert not at.warning or not any("address" in w.value or "link" in w.value for w in at.warning), \
            [w.value for w in at.warning]
        for key, (value, text) in examples.items():
            assert at.session_state[key] == value, key
            shown = widget(at, key)
            if shown is not None:
                assert shown.value == value, key
            assert at.query_params[key] == text, key


def test_a_changed_address_drives_the_view_in_the_same_session():
    at = open_page("pages/inside_cell.py", {"cell_arch": "gru", "cell_step": "40"})
    at.query_params["cell_step"] = "12"  # browser back/forward, or an edited address
    at.query_params["cell_arch"] = "rnn"
    at.run()
    assert not at.exception
    assert at.slider(key="cell_step").value == 12 and at.radio(key="cell_arch").value == "rnn"
    assert at.query_params["cell_step"] == "12" and at.query_params["cell_arch"] == "rnn"
    # An address value the page refuses is named in its warning; the view stays where it was.
    at.query_params["cell_step"] = "twelve"
    at.run()
    assert at.slider(key="cell_step").value == 12 and at.query_params["cell_step"] == "12"
    assert any("cell_step" in w.value for w in at.warning)


def test_a_widget_change_wins_over_an_address_changed_in_the_same_run():
    at = open_page("pages/inside_cell.py", {"cell_step": "40"})
    at.query_params["cell_step"] = "20"
    at.slider(key="cell_step").set_value(30).run()
    assert at.slider(key="cell_step").value == 30 and at.query_params["cell_step"] == "30"


def test_a_setting_survives_runs_that_do_not_draw_its_widget():
    at = open_page("pages/inside_cell.py", {"cell_mode": "sandbox"})
    at.slider(key="cell_sb_bf").set_value(-4.0).run()
    at.radio(key="cell_mode").set_value("trained").run()  # the sandbox's sliders are not drawn
    at.switch_page("pages/home.py").run()  # nor any of the page's widgets
    assert "cell_sb_bf" not in address(at)
    at.switch_page("pages/inside_cell.py").run()
    at.radio(key="cell_mode").set_value("sandbox").run()
    assert at.slider(key="cell_sb_bf").value == -4.0 and at.query_params["cell_sb_bf"] == "-4"


# Texts no field of the kind takes: too long for any address value, of the wrong type, past the range's ends.
def hostile_texts(field) -> list[str]:
    texts = ["💥" * 2001, "{not json", "1e999", "nan"]
    max_chars = getattr(field.valid, "max_chars", None)
    if max_chars is not None:  # a text box: one character more than it takes
        return texts + ["x" * (max_chars + 1)]
    return texts + getattr(field.valid, "edges", list)()[2:]  # just below and just above the range


@pytest.mark.parametrize("page, key", [(page, key) for page, keys in EXAMPLES.items() for key in keys])
def test_hostile_texts_for_every_key_are_refused(page, key):
    schema = page_schemas.SCHEMAS[page]
    field = schema.by_key[key]
    refused = [text for text in hostile_texts(field) if key in read_query(schema, {key: text})[1]]
    # A free text or name takes "nan" and "{not json"; what it takes is what its widget shows, as typed.
    takes_text = isinstance(field.default, str) and not hasattr(field.valid, "options")
    assert len(refused) >= (2 if takes_text else 4), refused


def default_view(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(path).run()
    return at


def warned(at: AppTest, key: str) -> bool:
    return any(re.search(rf"(?<![\w]){re.escape(key)}(?![\w])", w.value) for w in at.warning)


@pytest.mark.parametrize("page", ["train", "try_it", "forecast", "gates_memory", "gradient_lab", "inside_cell",
                                  "length_sweep", "translate"])
def test_a_link_of_hostile_values_is_refused_with_the_page_s_warning_never_a_traceback(page):
    schema = page_schemas.SCHEMAS[page]
    default = default_view(schema.path)
    for kind in range(3):  # too long, not of the type, out of range: every key of the page in one link each time
        link = {f.key: hostile_texts(f)[min(kind if kind < 2 else 4, len(hostile_texts(f)) - 1)]
                for f in schema.fields}
        link = {key: text for key, text in link.items() if key in read_query(schema, {key: text})[1]}
        at = open_page(schema.path, link)  # fails on any exception
        for key in link:
            assert warned(at, key), (key, [w.value for w in at.warning])
            assert at.session_state[key] == default.session_state[key], key


@pytest.mark.parametrize("page", ["train", "gates_memory", "inside_cell"])
def test_generated_hostile_links_end_in_the_page_s_warning(page):
    """The URL fuzz suite's texts (tests/fuzz_support.url_text), derandomised: the refused ones are named."""
    schema = page_schemas.SCHEMAS[page]

    @settings(max_examples=2, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(hst.fixed_dictionaries({key: url_text() for key in schema.keys}))
    def open_link(link):
        refused = read_query(schema, link)[1]
        at = open_page(schema.path, link)
        assert all(warned(at, key) for key in refused), (refused, [w.value for w in at.warning])

    open_link()
