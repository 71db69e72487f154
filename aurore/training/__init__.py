"""Stage 3: presets, the training loop and its callbacks, the resumable run (GPT-2's and the
char-LSTM's), packing, optimizers, multi-device strategies, and the settings search (tune).
"""
