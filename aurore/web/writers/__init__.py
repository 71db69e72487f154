"""The writers' side: the generation page, the comparison of the learner's
model with the reference, the JSON and OpenAI-compatible API with its
parameters, the generation service, the model pool and the rate limit.
"""
