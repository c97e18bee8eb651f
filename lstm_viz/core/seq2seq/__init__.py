"""An encoder-decoder for translation: model (encoder, decoder, Luong dot attention in attention), decoding (greedy,
beam), gates (every gate per token, recomputed), training (a seeded trainer a scheduler ticket can stop), metrics
(exact match, token accuracy, sacrebleu BLEU, by source length), files (safetensors + JSON), reading (one typed
sentence, everything the Translate page shows). Its tasks: lstm_viz.core.tasks.TRANSLATION_TASKS."""
