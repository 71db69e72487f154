"""The course itself: exercises (metadata, stubs derived from solutions,
loading the learner's code), the steps they teach, the offline bundle, and checks.
"""
