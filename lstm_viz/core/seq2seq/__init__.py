"""An encoder-decoder for translation: model (encoder, decoder, Luong dot attention), decoding (greedy, beam),
gates (every gate per token, recomputed), training (a seeded trainer a scheduler ticket can stop), files."""
