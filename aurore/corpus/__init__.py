"""Stage 1 and 2: the books (catalogue, download, Gutenberg cleaning), sentences,
the prepared dataset, and the specialised tokenizer.
"""
