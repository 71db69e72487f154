"""Continuous batching on the tiny model: the compiled sampler against exercise 6, seeds alone or in a batch."""

from __future__ import annotations

import numpy as np
import pytest

from aurore.course import exercises
from aurore.generation import compiled_sampling
from aurore.generation.generator import Generator, SamplingParams
from aurore.web.writers.generation_service import GenerationService
from tests.tiny_model import tiny_model_dir  # noqa: F401  (fixture)

RULES = exercises.rules("generate")
#: Total variation distance allowed between the two samplers' token frequencies (40,000 draws each,
#: at most 20 tokens kept: the sampling noise alone is about 0.013).
TOLERANCE = 0.04
DRAWS = 40_000


@pytest.fixture(scope="module")
def generator(tiny_model_dir):  # noqa: F811
    return Generator.load(tiny_model_dir, RULES)


def compiled(function):
    import tensorflow as tf

    return tf.function(function, jit_compile=True)


def kept_mask(logits, params_list):
    settings = compiled_sampling.row_settings(params_list, [0] * len(params_list))
    _, keep = compiled(compiled_sampling.kept)(np.asarray(logits, dtype="float32"), settings["strategy"],
                                                 settings["temperature"], settings["top_k"], settings["top_p"])
    return keep.numpy()


def exercise_mask(logits, params):
    scaled = RULES.apply_temperature(logits, params.temperature)
    kept = RULES.top_k_filter(scaled, params.top_k) if params.strategy == "top_k" else RULES.top_p_filter(scaled, params.top_p)
    return np.isfinite(kept)


def test_the_compiled_filters_keep_exactly_the_tokens_exercise_6_keeps():
    rng = np.random.default_rng(4)
    rows, cases = [], []
    for _ in range(40):
        logits = (rng.standard_normal(300) * 2).astype("float32")
        logits[20:26] = logits[3]                        # ties, kept in index order by both
        logits[40:50] = -np.inf                          # tokens a model forbids
        for params in (SamplingParams(strategy="top_k", temperature=float(rng.uniform(0.3, 1.6)),
                                      top_k=int(rng.integers(1, 60))),
                       SamplingParams(strategy="top_p", temperature=float(rng.uniform(0.3, 1.6)),
                                      top_p=float(rng.uniform(0.05, 0.99)))):
            rows.append(logits)
            cases.append(params)
    mask = kept_mask(np.stack(rows), cases)
    for row, (logits, params) in enumerate(zip(rows, cases)):
        assert (mask[row] == exercise_mask(logits, params)).all(), (row, params)


def test_top_k_keeps_exactly_k_even_among_equal_logits():
    logits = np.array([[1.0, 3.0, 3.0, 3.0, 0.5, 3.0]], dtype="float32")
    mask = kept_mask(logits, [SamplingParams(strategy="top_k", top_k=2)])
    assert mask[0].tolist() == [False, True, True, False, False, False]      # the lower indices first


def test_the_stateless_draws_depend_on_seed_and_position_only():
    import tensorflow as tf

    seeds = tf.constant([1, 1, 2, 2**62 + 5], tf.int64)
    first = compiled_sampling.uniform(seeds, tf.constant([0, 1, 0, 0])).numpy()
    again = compiled_sampling.uniform(seeds[::-1], tf.constant([0, 0, 1, 0])).numpy()[::-1]
    assert first.tolist() == again.tolist()          # the same (seed, position), whatever the row
    assert len(set(first.tolist())) == 4
    many = compiled_sampling.uniform(tf.range(20_000, dtype=tf.int64), tf.zeros(20_000, tf.int32)).numpy()
    assert 0 < many.min() and many.max() <= 1
    assert abs(many.mean() - 0.5) < 0.01 and np.histogram(many, bins=10, range=(0, 1))[0].min() > 1800


def choose(logits, params_list, seeds, index, candidates=compiled_sampling.CANDIDATES):
    """compiled_sampling.choose, compiled, on rows of logits (NumPy in and out)."""
    settings = compiled_sampling.row_settings(params_list, seeds)
    return compiled(lambda *args: compiled_sampling.choose(*args, candidates=candidates))(
        np.asarray(logits, dtype="float32"), settings["strategy"], settings["temperature"], settings["top_k"],
        settings["top_p"], settings["seed"], np.asarray(index, dtype="int32")).numpy()


@pytest.mark.parametrize("candidates", [None, 24], ids=["whole vocabulary", "fast path"])
@pytest.mark.parametrize("params", [SamplingParams(strategy="top_k", temperature=0.7, top_k=20),
                                    SamplingParams(strategy="top_p", temperature=0.6, top_p=0.8)],
                         ids=["top_k", "top_p"])
def test_the_compiled_sampler_draws_like_exercise_4(generator, params, candidates):
    logits, _ = generator.engine.prefill([generator._prompt_ids("La nuit était", params)[0]], 1)
    logits = logits[0].astype("float32")
    vocabulary = logits.shape[-1]
    assert vocabulary > 24                    # the fast path looks at fewer tokens than there are
    tokens = choose(np.broadcast_to(logits, (DRAWS, vocabulary)), [params] * DRAWS, range(DRAWS),
                    np.zeros(DRAWS), candidates)
    rng = np.random.default_rng(0)
    reference = [RULES.choose_next_token(logits, params, rng) for _ in range(DRAWS)]
    ours = np.bincount(tokens, minlength=vocabulary) / DRAWS
    theirs = np.bincount(reference, minlength=vocabulary) / DRAWS
    kept = exercise_mask(logits, params)
    assert 2 <= kept.sum() <= 20                                    # a real draw among several tokens
    assert ours[~kept].sum() == 0                                   # never a token exercise 6 leaves out
    assert 0.5 * np.abs(ours - theirs).sum() < TOLERANCE


def random_rows(rng, rows: int, vocabulary: int):
    """Logits peaked and flat, with ties and forbidden tokens, and every strategy's settings."""
    logits = rng.standard_normal((rows, vocabulary)) * rng.choice([0.2, 3.0, 12.0], size=(rows, 1))
    logits[:, :8] = np.round(logits[:, :8])                     # ties among the likeliest
    logits[:, 8:12] = -np.inf
    params = [SamplingParams(strategy=str(rng.choice(["greedy", "top_k", "top_p"])),
                             temperature=float(rng.choice([0.5, 0.8, 1.0, 1.5])),
                             top_k=int(rng.integers(1, 60)), top_p=float(rng.choice([0.3, 0.9, 0.95, 1.0])))
              for _ in range(rows)]
    return logits.astype("float32"), params


def test_the_fast_path_chooses_the_very_token_the_whole_vocabulary_gives():
    """Among the 32 likeliest or over all 600 tokens: the same token, row by row (the draw's rule is the same)."""
    import tensorflow as tf

    rng = np.random.default_rng(7)
    logits, params = random_rows(rng, 480, 600)
    seeds, index = rng.integers(0, 2**40, 480), rng.integers(0, 200, 480)
    everywhere = choose(logits, params, seeds, index, candidates=None)
    settings = compiled_sampling.row_settings(params, seeds)
    fast, beyond = compiled(lambda *args: compiled_sampling.choose_among_top(*args, 32))(
        logits, settings["strategy"], settings["temperature"], settings["top_k"], settings["top_p"],
        settings["seed"], tf.constant(index, tf.int32))
    fast, beyond = fast.numpy(), beyond.numpy()
    assert 50 < beyond.sum() < 430          # rows kept within 32 tokens, and rows beyond them
    assert (fast[~beyond] == everywhere[~beyond]).all(), np.flatnonzero((fast != everywhere) & ~beyond)
    # A step whose rows are all greedy or top-k ≤ 32 takes the fast path, and gives the same tokens.
    fitting = [i for i, p in enumerate(params) if p.strategy == "greedy" or (p.strategy == "top_k" and p.top_k <= 32)]
    assert len(fitting) > 100
    chosen = choose(logits[fitting], [params[i] for i in fitting], seeds[fitting], index[fitting], candidates=32)
    assert (chosen == everywhere[fitting]).all()
    # Rows beyond the candidates in the step: the whole vocabulary's tokens, every row.
    assert (choose(logits, params, seeds, index, candidates=32) == everywhere).all()


def test_a_row_goes_beyond_the_candidates_exactly_when_exercise_6_keeps_more_of_them():
    import tensorflow as tf

    logits = np.zeros((5, 100), dtype="float32")
    logits[:, :3] = [6.0, 5.0, 4.0]                 # peaked: three tokens hold nearly all the mass
    cases = [SamplingParams(strategy="top_k", top_k=8), SamplingParams(strategy="top_k", top_k=9),
             SamplingParams(strategy="top_p", top_p=0.9), SamplingParams(strategy="top_p", top_p=0.999),
             SamplingParams(strategy="greedy")]
    settings = compiled_sampling.row_settings(cases, range(5))
    _, beyond = compiled(lambda *args: compiled_sampling.choose_among_top(*args, 8))(
        logits, settings["strategy"], settings["temperature"], settings["top_k"], settings["top_p"],
        settings["seed"], tf.zeros(5, tf.int32))
    kept = [int(exercise_mask(logits[0], params).sum()) for params in cases[:4]]
    assert kept[:2] == [8, 9] and kept[2] <= 8 < kept[3]
    assert beyond.numpy().tolist() == [n > 8 for n in kept] + [False]       # greedy: one token, always


def run_rows(batch, requests):
    """Add every (prompt, params), then step until all ended; the texts in order."""
    texts, slots = [], []
    for prompt, params in requests:
        event = batch.add(prompt, params)
        texts.append([event.piece])
        slots.append(event.slot if event.finish_reason is None else None)
    while batch.busy:
        for event in batch.step():
            texts[slots.index(event.slot)].append(event.piece)
            if event.finish_reason is not None:
                slots[slots.index(event.slot)] = None
    return ["".join(pieces) for pieces in texts]


def test_greedy_writes_exactly_what_exercise_6_writes(generator):
    batch = generator.continuous(4)
    params = SamplingParams(max_new_tokens=25, strategy="greedy")
    prompts = ["Le vieux meunier", "Elle ouvrit la fenêtre", "Madame, dit-il,"]
    assert run_rows(batch, [(p, params) for p in prompts]) == [generator.generate(p, params).text for p in prompts]


def test_a_step_past_the_first_attention_window_reads_the_whole_past():
    """Slot logits against a full forward pass of a random GPT-2 (every weight matters), one row at
    position 5 and one at 80: past the step's first window (64 positions), in the same step."""
    from keras import ops

    from aurore.generation.slot_model import SlotModel
    from tests.tiny_model import make_backbone

    backbone = make_backbone(300, seed=3)
    model = SlotModel(backbone, slots=2)
    assert model.windows == [64, 128]
    sequence = np.random.default_rng(3).integers(1, 300, 90).astype("int32")
    model.prefill(0, sequence[:5])
    model.prefill(1, sequence[:80])
    logits = model.step(sequence[[5, 80]], [5, 80])
    hidden = backbone({"token_ids": sequence[None, :81], "padding_mask": np.ones((1, 81), dtype="int32")})
    full = ops.convert_to_numpy(backbone.token_embedding(hidden, reverse=True))[0]   # the output is normed
    np.testing.assert_allclose(logits[0], full[5], atol=1e-4)
    np.testing.assert_allclose(logits[1], full[80], atol=1e-4)


def test_a_seed_gives_the_same_text_alone_or_in_a_batch_of_16(generator):
    service = GenerationService(generator, max_batch=16)
    try:
        asked = SamplingParams(max_new_tokens=30, strategy="top_p", temperature=1.0, seed=11)
        alone = service.submit("La nuit", asked).result().text
        others = [(["Elle", "Le vent", "Nous partirons"][i % 3], SamplingParams(max_new_tokens=10 + i, seed=i))
                  for i in range(15)]
        with service._lock:        # admitted at one instant: they share the steps
            jobs = [service.submit(prompt, params) for prompt, params in others[:7] + [("La nuit", asked)] + others[7:]]
        texts = [job.result().text for job in jobs]
        assert texts[7] == alone
        assert max(service.batch_sizes) == 16
        assert len(set(texts)) > 8, "different seeds and prompts gave the same texts"
        timing = service.load()["steps"]       # what a benchmark reads to split a step's time
        assert timing["prefills"] == 17 and timing["steps"] == len(service.batch_sizes)
        assert timing["rows"] == sum(service.batch_sizes)
        assert timing["model_seconds"] > 0 and timing["python_seconds"] > 0
    finally:
        service.close()


def test_rows_that_end_free_their_slot_for_the_next(generator):
    batch = generator.continuous(2)
    short, long = (SamplingParams(max_new_tokens=n, strategy="greedy") for n in (2, 12))
    first = batch.add("Elle", short)
    batch.add("La nuit", long)
    assert batch.free == 0
    ended = [event for event in batch.step() if event.finish_reason]
    assert [(event.slot, event.finish_reason, event.new_tokens) for event in ended] == [(first.slot, "length", 2)]
    assert batch.free == 1
    again = batch.add("Le vieux meunier", long)          # the freed slot, while the long row runs on
    assert again.slot == first.slot
    reasons = []
    while batch.busy:
        reasons += [event.finish_reason for event in batch.step() if event.finish_reason]
    assert reasons == ["length", "length"] and batch.free == 2


def test_a_big_model_gets_the_slots_its_cache_budget_holds_never_fewer_than_one():
    from types import SimpleNamespace

    from aurore.generation.slot_model import slots_within_budget

    backbone = SimpleNamespace(compute_dtype="float32", transformer_layers=[None] * 12,
                               max_sequence_length=1024, hidden_dim=768)
    per_slot = 2 * 12 * 1024 * 768 * 4                                    # keys and values, float32: 75 MB
    assert slots_within_budget(32, backbone, budget=1 << 30) == 14                 # 1 GiB // 75.5 MB
    assert slots_within_budget(8, backbone, budget=1 << 30) == 8          # within the budget: as asked
    assert slots_within_budget(32, backbone, budget=per_slot - 1) == 1
    for half in ("float16", "bfloat16"):                                 # a mixed-precision model's cache
        assert slots_within_budget(32, SimpleNamespace(**{**vars(backbone), "compute_dtype": half}),
                                   budget=1 << 30) == 28
