"""The learners' side: workshop pages, runs (jobs), course pages, exercise
progress, environment and Markdown rendering.
"""
