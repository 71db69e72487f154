"""Stage 4: sampling settings, the generator and its cached model, text
decoding, and export for serving.
"""
