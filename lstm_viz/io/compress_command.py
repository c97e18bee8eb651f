"""`python -m lstm_viz compress --run DIR --out DIR2`: every variant of every recurrent model of a folder written by
`python -m lstm_viz train`, measured, with report.json (one row per variant and architecture) and the variant files.

The folder is read as an upload is: config.json parsed with bounded sizes, each model through load_model (size cap,
header parsed by hand, config validated before a tensor is read, safetensors only). A Transformer in the folder is
skipped with a message (lstm_viz.compression.deployable says why); a folder with nothing to compress is an error.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from lstm_viz.compression.deployable import RECURRENT_CELLS
from lstm_viz.compression.latency import Timing
from lstm_viz.compression.report import VariantRow, compress_model, fine_tune_for, rows_json, trainer_test_set
from lstm_viz.core.run_config import RunConfig
from lstm_viz.io.export import FORMAT, load_model
from lstm_viz.rules import checks
from lstm_viz.rules.errors import ConfigError, ModelFileError
from lstm_viz.rules.ranges import FINE_TUNE_STEPS_RANGE, LATENCY_REPEATS_RANGE

MAX_CONFIG_BYTES = 256 * 1024  # the train verb's config.json is under 2 kB
REPORT_FILE = "report.json"


def add_compress_parser(commands) -> None:
    compress = commands.add_parser("compress", help="make float16, int8, pruned and ONNX variants of a trained run's "
                                   "models and measure each (size, metric, max |diff|, latency)")
    compress.add_argument("--run", type=Path, required=True, help="a folder written by `python -m lstm_viz train`")
    compress.add_argument("--out", type=Path, required=True, help="folder for report.json and the variant files")
    compress.add_argument("--fine-tune-steps", type=int, default=100,
                          help="steps of the pruned models' fine-tune (0: pruned variants without one only)")
    compress.add_argument("--repeats", type=int, default=50, help="timed calls per latency measurement")


def read_run_folder(folder: Path) -> tuple[RunConfig, dict[str, Path]]:
    """(the run's config, {architecture: model file}) of a train verb's folder; ModelFileError saying what is wrong."""
    config_path = folder / "config.json"
    if not folder.is_dir():
        raise ModelFileError(f"{folder} is not a folder; pass the --out folder of `python -m lstm_viz train`")
    if not config_path.is_file():
        raise ModelFileError(f"{folder} has no config.json: it is not a folder written by `python -m lstm_viz train`")
    if config_path.stat().st_size > MAX_CONFIG_BYTES:
        raise ModelFileError(f"{config_path} is larger than {MAX_CONFIG_BYTES // 1024} kB; the train verb's is "
                             "under 2 kB")
    try:
        values = checks.bounded_json("config.json", config_path.read_bytes(), max_chars=MAX_CONFIG_BYTES, max_depth=6)
        if not isinstance(values, dict) or values.get("format") != FORMAT:
            raise ConfigError(f"it is not an LSTM Explorer run config (format {FORMAT!r} expected)")
        config = RunConfig.from_dict(values.get("run")).validate()
        files = values.get("files", {})
        if not isinstance(files, dict):
            raise ConfigError("its 'files' entry is not an object")
    except (ConfigError, TypeError) as error:
        raise ModelFileError(f"{config_path} cannot be read: {error}") from None
    models = {}
    for arch in config.archs:
        name = files.get(arch, f"{arch}.safetensors")
        if not isinstance(name, str) or Path(name).name != name:
            raise ModelFileError(f"config.json names {name!r} for {arch}: a plain file name in the folder is expected")
        models[arch] = folder / name
    return config, models


def compress_folder(folder: Path, out: Path, fine_tune_steps: int = 100, timing: Timing = Timing(),
                    say=print) -> list[VariantRow]:
    """Every compressible model of the run in `folder`, measured; report.json and the variant files into `out`."""
    checks.whole_number("--fine-tune-steps", fine_tune_steps, *FINE_TUNE_STEPS_RANGE)
    checks.whole_number("--repeats", timing.repeats, *LATENCY_REPEATS_RANGE)
    config, models = read_run_folder(folder)
    compressible = [arch for arch in models if arch in RECURRENT_CELLS]
    for arch in models:
        if arch not in compressible:
            say(f"skipped {arch}: Deploy small compresses the recurrent cells (RNN, GRU, LSTM) only")
    if not compressible:
        raise ModelFileError(f"{folder} holds no RNN, GRU or LSTM model to compress")
    out.mkdir(parents=True, exist_ok=True)
    task = config.make_task()
    test_inputs, test_targets = trainer_test_set(config)
    rows: list[VariantRow] = []
    for arch in compressible:
        model = load_model(models[arch])
        model.config.validate(task)
        say(f"{arch}: making and measuring its variants ...")
        rows += compress_model(model, task, test_inputs, test_targets, out,
                               fine_tune=fine_tune_for(config, fine_tune_steps), timing=timing)
    (out / REPORT_FILE).write_text(json.dumps(rows_json(rows), indent=1))
    return rows


def print_rows(rows: list[VariantRow], say=print) -> None:
    say(f"{'arch':<5} {'variant':<38} {'bytes':>9} {'x f32':>6} {'metric':>9} {'max|diff|':>9} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'step p50':>8}")
    for row in rows:
        step = row.streaming_ms_per_step_p50
        streaming = f"{step:8.3f}" if step is not None else f"{'-':>8}"
        say(f"{row.architecture:<5} {row.variant:<38} {row.bytes:>9,} {row.size_ratio:6.2f} {row.metric:9.4f} "
            f"{row.max_abs_diff:9.2e} {row.latency_ms_p50:7.3f} {row.latency_ms_p95:7.3f} {streaming}")


def compress(args: argparse.Namespace) -> int:
    torch.set_num_threads(1)
    rows = compress_folder(args.run, args.out, args.fine_tune_steps, Timing(repeats=args.repeats))
    print_rows(rows)
    print(f"latency: {Timing(repeats=args.repeats).method()}")
    print(f"wrote {args.out / REPORT_FILE} and {len(rows)} variant files")
    return 0
