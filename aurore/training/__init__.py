"""Stage 3: presets, the training loop and its callbacks, packing, optimizers,
multi-device strategies, and the settings search (tune).
"""
