"""Stage 5: loss, perplexity and bits per character of a model, its report,
the baselines (unigram, xz) and memorisation (copied spans).
"""
