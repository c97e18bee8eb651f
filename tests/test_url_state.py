"""Every page's configuration lives in the address: opening a link gives the view, and changing a widget changes
the address. A new page adds one line to URL_CASES."""
import pytest
from streamlit.testing.v1 import AppTest

from tests.app_support import APP, TIMEOUT, clear_caches, open_page  # noqa: F401 - clear_caches is an autouse fixture
WIDGET_KINDS = ("number_input", "selectbox", "multiselect", "toggle", "checkbox", "slider", "select_slider",
                "radio", "text_input", "text_area", "button_group", "date_input", "color_picker")

# (page file, the link's query parameters, the session state they must give, a widget change (key, new value, the
#  address text expected for it, None for "absent")).
URL_CASES = [
    ("pages/train.py",
     {"preset": "forget-bias", "hidden_size": "32", "archs": "gru,lstm", "learning_rate": "0.003",
      "clip_enabled": "0", "seed": "7", "optimizer": "rmsprop"},
     {"preset": "forget-bias", "length": 200, "forget_bias": 1.0, "hidden_size": 32, "archs": ["gru", "lstm"],
      "learning_rate": 0.003, "clip_enabled": False, "seed": 7, "optimizer": "rmsprop", "max_steps": 3000},
     ("num_layers", 2, "2")),
    ("pages/train.py",
     {"task": "copy", "length": "30", "batch_size": "32", "max_steps": "250", "forget_bias": "-1.5"},
     {"task": "copy", "length": 30, "batch_size": 32, "max_steps": 250, "forget_bias": -1.5, "task_options": {}},
     ("clip_threshold", 2.5, "2.5")),
    ("pages/home.py", {"presenter": "1"}, {"presenter": True}, ("presenter", False, None)),
    # The explorer pages (the bundled adding run: RNN, GRU, LSTM; GRU checkpoints 0 to 275, LSTM 0 to 700).
    ("pages/inside_cell.py",
     {"cell_arch": "gru", "cell_example": "2", "cell_checkpoint": "150", "cell_step": "40", "cell_unit": "5",
      "cell_sb_bf": "2.5"},
     {"cell_mode": "trained", "cell_arch": "gru", "cell_example": 2, "cell_checkpoint": 150, "cell_step": 40,
      "cell_unit": 5, "cell_sb_bf": 2.5},
     ("cell_step", 41, "41")),
    ("pages/inside_cell.py",
     {"cell_mode": "sandbox", "cell_sb_x": "-1.5", "cell_sb_h": "0.25", "cell_sb_c": "2.0", "cell_sb_bi": "-3.0"},
     {"cell_mode": "sandbox", "cell_sb_x": -1.5, "cell_sb_h": 0.25, "cell_sb_c": 2.0, "cell_sb_bi": -3.0},
     ("cell_sb_bo", 1.5, "1.5")),
    ("pages/gates_memory.py",
     {"gm_arch": "gru", "gm_step": "200", "gm_example": "3", "gm_order": "peak", "gm_pick": "hand",
      "gm_units": "3,7", "gm_state": "hidden_state", "gm_compare": "0"},
     {"gm_arch": "gru", "gm_step": 200, "gm_example": 3, "gm_order": "peak", "gm_pick": "hand", "gm_units": [3, 7],
      "gm_state": "hidden_state", "gm_compare": False},
     ("gm_order", "index", "index")),
    ("pages/gates_memory.py",
     {"gm_search": "span", "gm_span_start": "10", "gm_span_end": "30", "gm_span_method": "match",
      "gm_threshold": "0.5"},
     {"gm_search": "span", "gm_span_start": 10, "gm_span_end": 30, "gm_span_method": "match", "gm_threshold": 0.5},
     ("gm_threshold", 0.75, "0.75")),
    ("pages/gradient_lab.py",
     {"glab_tab": "Clamp the forget gate", "glab_step": "300", "glab_relative": "0", "glab_clamp": "0.8",
      "glab_clip_arch": "lstm", "glab_clip_opt": "run", "glab_clip_steps": "400"},
     {"glab_tab": "Clamp the forget gate", "glab_step": 300, "glab_relative": False, "glab_clamp": 0.8,
      "glab_clip_arch": "lstm", "glab_clip_opt": "run", "glab_clip_steps": 400},
     ("glab_clamp", 0.5, "0.5")),
    ("pages/length_sweep.py",
     {"sweep_task": "copy", "sweep_lengths": "10,20", "sweep_archs": "rnn,lstm", "sweep_seeds": "2",
      "sweep_steps": "300", "sweep_hidden": "16", "sweep_lr": "0.005"},
     {"sweep_task": "copy", "sweep_lengths": ["10", "20"], "sweep_archs": ["rnn", "lstm"], "sweep_seeds": 2,
      "sweep_steps": 300, "sweep_hidden": 16, "sweep_lr": 0.005},
     ("sweep_batch", 64, "64")),
    ("pages/try_it.py",
     {"try_source": "brackets-rnn-lstm", "try_arch": "rnn", "try_temperature": "1.2", "try_sample_length": "120",
      "try_prompt": "[", "try_seed": "5", "try_paste": "(a [b])"},
     {"try_source": "brackets-rnn-lstm", "try_arch": "rnn", "try_temperature": 1.2, "try_sample_length": 120,
      "try_prompt": "[", "try_seed": 5, "try_paste": "(a [b])"},
     ("try_seed", 9, "9")),
    ("pages/try_it.py",
     {"try_source": "sentiment-rnn-lstm", "try_text": "not bad at all ."},
     {"try_source": "sentiment-rnn-lstm", "try_arch": "lstm", "try_text": "not bad at all ."},
     ("try_text", "a dull film .", "a dull film .")),
    ("pages/forecast.py",
     {"forecast_anomaly_seed": "7", "forecast_detector": "rnn"},
     {"forecast_anomaly_seed": 7, "forecast_detector": "rnn"},
     ("forecast_anomaly_seed", 11, "11")),
    # pages/import_model.py has no view settings to keep: its only widget is the file upload.
]


def open_with_url(page: str, params: dict[str, str]) -> AppTest:
    """The app opened from a link to `page` with `params`, as a new visitor's browser would."""
    return open_page(page, params)


def widget(at: AppTest, key: str):
    """The widget with `key`, whatever its kind; None if the page does not draw it."""
    for kind in WIDGET_KINDS:
        for element in at.get(kind):
            if getattr(element, "key", None) == key:
                return element
    return None


def address(at: AppTest) -> dict[str, str]:
    return {key: at.query_params[key] for key in at.query_params}


@pytest.mark.parametrize("page, params, expected, change", URL_CASES,
                         ids=[f"{page}:{','.join(params)}" for page, params, _, _ in URL_CASES])
def test_a_link_reproduces_the_view_and_a_widget_change_updates_the_link(page, params, expected, change):
    at = open_with_url(page, params)
    for key, value in expected.items():
        assert at.session_state[key] == value, key
        shown = widget(at, key)
        if shown is not None:
            assert shown.value == value, key
    # The address now holds the whole view: opening it again gives the same state and the same address.
    link = address(at)
    assert all(key in link for key in expected)
    again = open_with_url(page, link)
    assert address(again) == link
    for key in expected:
        assert again.session_state[key] == at.session_state[key], key
    key, value, text = change
    widget(at, key).set_value(value).run()
    assert not at.exception
    assert at.session_state[key] == value
    assert at.query_params.get(key) == text if text is not None else key not in address(at)


def test_a_preset_link_alone_opens_every_setting_of_that_preset():
    at = open_with_url("pages/train.py", {"preset": "three-cells"})
    assert at.multiselect(key="archs").value == ["rnn", "gru", "lstm"]
    assert at.number_input(key="length").value == 50 and at.number_input(key="max_steps").value == 1200
    assert at.query_params["archs"] == "rnn,gru,lstm" and at.query_params["length"] == "50"


@pytest.mark.parametrize("params, refused", [
    ({"hidden_size": "100000"}, "hidden_size"),
    ({"archs": "lstm,mamba"}, "archs"),  # the Transformer is one of the architectures now; this is not
    ({"archs": "lstm,transformer", "heads": "9"}, "heads"),
    ({"archs": "lstm,transformer", "positions": "rotary"}, "positions"),
    ({"task": "adding", "length": "5000"}, "length"),
    ({"learning_rate": "nan"}, "learning_rate"),
    ({"task_options": '{"series": "airline"}'}, "task_options"),  # the adding task takes no options
    ({"seed": "seven"}, "seed"),
])
def test_an_impossible_value_in_a_link_is_refused_with_a_warning(params, refused):
    at = open_with_url("pages/train.py", params)
    assert any(refused in w.value and "not possible" in w.value for w in at.warning)
    default = AppTest.from_file(APP, default_timeout=TIMEOUT)
    default.switch_page("pages/train.py").run()
    assert at.session_state[refused] == default.session_state[refused]


def test_a_page_s_settings_leave_the_address_on_another_page_but_presenter_mode_stays():
    at = open_with_url("pages/train.py", {"hidden_size": "16", "presenter": "1"})
    at.switch_page("pages/home.py").run()
    assert not at.exception
    assert "hidden_size" not in address(at) and at.query_params["presenter"] == "1"
    at.switch_page("pages/train.py").run()
    assert at.session_state["hidden_size"] == 16 and at.query_params["hidden_size"] == "16"


@pytest.mark.parametrize("page", ["pages/home.py", "pages/import_model.py"])
def test_a_page_without_settings_has_an_address_without_another_page_s_settings(page):
    at = open_with_url("pages/inside_cell.py", {"cell_step": "40", "presenter": "1"})
    at.switch_page(page).run()
    assert not at.exception
    assert address(at) == {"presenter": "1"}


def test_presenter_mode_hides_the_advanced_settings_and_tells_the_demo():
    at = open_with_url("pages/train.py", {"preset": "vanishing-gradients", "presenter": "1"})
    assert at.toggle(key="presenter").value is True
    assert widget(at, "hidden_size") is None and widget(at, "preset_box") is not None
    assert any(i.value.startswith("**Step 1 of 5: the task.**") for i in at.info)
    at.toggle(key="presenter").set_value(False).run()
    assert widget(at, "hidden_size") is not None and "presenter" not in address(at)
    assert not any("Step 1 of 5" in i.value for i in at.info)


def test_the_copy_link_control_shows_this_view_s_address():
    at = open_with_url("pages/train.py", {"preset": "copy-memory", "seed": "3"})
    links = [c.value for c in at.code]
    assert len(links) == 1
    assert "preset=copy-memory" in links[0] and "seed=3" in links[0] and "task=copy" in links[0]
