"""Sequence models: token language models (bigram, RNN, LSTM, GRU, Transformer) on names
and on binarised digits as raster sequences, the generative classifier, the RGB pixel."""
