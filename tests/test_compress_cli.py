"""`python -m lstm_viz compress --run DIR --out DIR2` on a folder the train verb wrote (trained here, tiny), and on
folders it must refuse with a message and a non-zero exit code, never a traceback."""
import json
import subprocess
import sys

import pytest

from lstm_viz.io.cli import main

REQUIRED = ("variant", "architecture", "bytes", "latency_ms_p50", "latency_ms_p95", "metric", "max_abs_diff")


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    assert main(["train", "--task", "adding", "--length", "12", "--arch", "rnn", "lstm", "transformer", "--steps", "10",
                 "--hidden", "8", "--layers", "2", "--batch", "8", "--eval-every", "5", "--out", str(folder),
                 "--quiet"]) == 0
    return folder


def test_compress_writes_a_report_row_per_variant_and_architecture_and_every_file(trained_folder, tmp_path, capsys):
    out = tmp_path / "compressed"
    assert main(["compress", "--run", str(trained_folder), "--out", str(out), "--fine-tune-steps", "2",
                 "--repeats", "3"]) == 0
    printed = capsys.readouterr().out
    assert "skipped transformer" in printed and "perf_counter" in printed
    rows = json.loads((out / "report.json").read_text())
    assert {row["architecture"] for row in rows} == {"rnn", "lstm"}
    assert len(rows) == 2 * 12
    for row in rows:
        assert all(row[field] is not None for field in REQUIRED), row
        assert row["bytes"] == (out / row["file"]).stat().st_size
    metrics = json.loads((trained_folder / "metrics.json").read_text())
    float32 = {row["architecture"]: row for row in rows if row["variant"] == "float32"}
    # The same test set as the trainer's evaluation: the final test metric the train verb recorded.
    for arch in ("rnn", "lstm"):
        assert float32[arch]["metric"] == pytest.approx(metrics["archs"][arch]["test"]["metric"][-1], rel=1e-5)
    written = {path.name for path in out.iterdir()} - {"report.json"}
    assert written == {row["file"] for row in rows}


def _refused(args, capsys) -> str:
    assert main(args) == 2
    return capsys.readouterr().err


def test_a_missing_folder_and_a_folder_that_is_not_a_run_are_refused_with_a_message(tmp_path, capsys):
    out = str(tmp_path / "out")
    assert "is not a folder" in _refused(["compress", "--run", str(tmp_path / "nowhere"), "--out", out], capsys)
    assert "no config.json" in _refused(["compress", "--run", str(tmp_path), "--out", out], capsys)
    (tmp_path / "config.json").write_text("{not json")
    assert "cannot be read" in _refused(["compress", "--run", str(tmp_path), "--out", out], capsys)
    (tmp_path / "config.json").write_text(json.dumps({"format": "lstm-explorer/1", "run": {"task": "adding",
                                                                                         "archs": ["lstm"]}}))
    assert "no model file" in _refused(["compress", "--run", str(tmp_path), "--out", out], capsys)
    (tmp_path / "lstm.safetensors").write_bytes(b"\x80\x04not a model")
    assert "not a safetensors file" in _refused(["compress", "--run", str(tmp_path), "--out", out], capsys)


def test_a_folder_of_only_a_transformer_is_refused(trained_folder, tmp_path, capsys):
    config = json.loads((trained_folder / "config.json").read_text())
    config["run"]["archs"] = ["transformer"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "transformer.safetensors").write_bytes((trained_folder / "transformer.safetensors").read_bytes())
    assert "no RNN, GRU or LSTM" in _refused(["compress", "--run", str(tmp_path), "--out", str(tmp_path / "o")], capsys)


def test_the_verb_from_a_shell_prints_no_traceback_for_a_bad_folder(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lstm_viz", "compress", "--run", str(tmp_path), "--out",
                             str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "error:" in result.stderr and "Traceback" not in result.stderr
