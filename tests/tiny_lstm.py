"""A tiny trained char-LSTM for the pages' tests: `make_tiny_lstm(folder, dataset)` (seconds, no download).

Trained with the reference's exercise code on the given prepared dataset
(`tiny_sand.make_dataset`), `tiny` preset, 4 steps; its saved report gives it
`bits_per_character` on the test book, stamped as the real one.
"""

from __future__ import annotations

from pathlib import Path

from aurore.bonus import char_lstm
from aurore.course import exercises


def make_tiny_lstm(folder, dataset, bits_per_character: float = 4.125) -> Path:
    folder = Path(folder)
    char_lstm.train(exercises.rules("char-lstm"), dataset, folder, char_lstm.preset("tiny", max_steps=4))
    char_lstm.save_report(folder, {"test": {"bits_per_character": bits_per_character}, "kind": char_lstm.KIND})
    return folder
