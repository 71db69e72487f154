"""Where the workshop's results live on disk: atomic writes, the prepared dataset,
model folders and their checkpoints. Imports nothing of the stages.
"""
