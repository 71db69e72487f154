"""The bonus tracks: A the char-LSTM, B code completion (with its corpus),
C LoRA fine-tuning.
"""
