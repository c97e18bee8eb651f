"""Every bound on a setting, in one place: the engine's checks and the UI's widgets and page schemas read them here,
so a typo or an edited file cannot allocate gigabytes on a shared server, and a widget never offers what the
engine would refuse. Each is (lowest, highest), both allowed unless its comment says otherwise.
"""
from __future__ import annotations

# ----- the model (lstm_viz.core.model.ModelConfig) -----
HIDDEN_SIZE_RANGE = (1, 512)
LAYER_RANGE = (1, 3)
DROPOUT_RANGE = (0.0, 1.0)  # 1 itself excluded: it would zero every activation between layers
FORGET_BIAS_RANGE = (-10.0, 10.0)
# One-hot inputs: the largest vocabulary of any task is the everyday-review task's (about 800 words); the largest
# output is a forecast horizon or a vocabulary. Checked before any weight is allocated (a file claiming 1e8 inputs
# cost 9.6 GB).
INPUT_SIZE_RANGE = (1, 2048)
OUTPUT_SIZE_RANGE = (1, 256)
# Word tasks embed each token in this many dimensions before the first layer; 0 means no embedding.
EMBEDDING_SIZE_RANGE = (0, 256)
# The Transformer's attention heads (the hidden size must divide by it) and its table of learned positions, which is
# allocated with the model: 4x the longest sequence any task offers, so a model can be tested at 4x its length.
HEADS_RANGE = (1, 4)
MAX_POSITIONS_RANGE = (1, 16_384)

# ----- a training run (lstm_viz.core.run_config.RunConfig) -----
# Any sequence length a config may name before its task's own range (Task.min_length, max_length) is checked.
SEQUENCE_LENGTH_RANGE = (0, 100_000)
BATCH_SIZE_RANGE = (1, 512)
MAX_STEPS_RANGE = (1, 100_000)
LEARNING_RATE_RANGE = (1e-6, 10.0)
CLIP_RANGE = (0.01, 100.0)
SEED_RANGE = (0, 2**31 - 1)  # torch.manual_seed takes 64 bits; the Trainer's seed offsets must stay inside them
EVERY_RANGE = (1, 100_000)  # eval_every, probe_every: steps between evaluations, between probes
# The test set, the probe batch and the traced examples are allocated when a Trainer starts: bounded so an edited
# file cannot ask for 100,000 test sequences (F1 of issue 10: +7.7 GB).
EVAL_SIZE_RANGE = (1, 2048)
PROBE_SIZE_RANGE = (1, 64)
TRACE_EXAMPLES_RANGE = (1, 16)
MAX_CHECKPOINTS_RANGE = (2, 256)
PATIENCE_RANGE = (0, 100_000)
STEP_GFLOP_RANGE = (1e-3, 1e6)

# ----- a length sweep (lstm_viz.runs.sweep.SweepConfig) -----
STEPS_PER_POINT_RANGE = (1, 20_000)

# ----- sampling text (lstm_viz.analysis.text_generation) -----
TEMPERATURE_RANGE = (0.05, 3.0)

# ----- the encoder-decoder (lstm_viz.core.seq2seq) -----
SEQ2SEQ_VOCABULARY_RANGE = (5, 20_000)  # four special tokens and at least one word
SEQ2SEQ_EMBEDDING_RANGE = (1, 256)
SEQ2SEQ_HIDDEN_RANGE = (1, 512)
BEAM_WIDTH_RANGE = (1, 10)
DECODE_LENGTH_RANGE = (1, 100)  # tokens the decoder may write before it is stopped

# ----- the best-practice lab: consistent lengths, tuning, stacking (lstm_viz.practices) -----
LAB_LENGTH_RANGE = (2, 200)  # true lengths of the variable-length adding sequences, and the truncation length
LAB_LENGTH_STEPS_RANGE = (1, 5_000)  # training steps of each of the three length variants
LAB_LENGTH_EVAL_SIZE = 512  # test sequences every length variant is scored on
LAB_TUNE_LEARNING_RATES = (1e-3, 3e-3, 1e-2, 3e-2)  # the values a tuning grid may pick from, per axis
LAB_TUNE_HIDDEN_SIZES = (8, 16, 32, 64, 128)
LAB_TUNE_BATCH_SIZES = (16, 32, 64, 128)
LAB_TUNE_MAX_POINTS = 36  # a grid point is one training run: 36 of them is a few minutes on a quiet 2-core server
LAB_TUNE_STEPS_RANGE = (1, 5_000)  # each grid point's step budget
LAB_STACK_LAYERS = (1, 2, 3)  # within LAYER_RANGE
LAB_STACK_STEPS_RANGE = (1, 5_000)
LAB_HIDDEN_RANGE = (1, 256)  # the width of every lab experiment (lstm_viz.practices)
# ----- compression (lstm_viz.compression: the compress verb, Deploy small) -----
FINE_TUNE_STEPS_RANGE = (0, 2000)  # a pruned model's short retraining; 100 took about 1.5 s for the adding LSTM here
LATENCY_REPEATS_RANGE = (1, 1000)
