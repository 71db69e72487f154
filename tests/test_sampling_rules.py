"""The sampling rules against an independent NumPy reference, on random distributions (Hypothesis).

The generation exercise's solution (`greedy`, `apply_temperature`, `top_k_filter`,
`top_p_filter`, `choose_next_token`, `decode`) is what the library calls to
choose every token; the exercise's checks compare it with fixed examples.
Here each rule is compared with its definition written again, plainly
(`reference_*`), on distributions Hypothesis draws, boundaries included: a
top-p whose cumulative mass lands exactly on p (the `<` against `<=` case),
ties, -inf logits. And `aurore.generation.sampling` refuses exactly the
values outside its documented limits. bench/mutation.py runs this file
against mutants of both.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import assume, example, given, settings, strategies as st

from aurore.course import exercises
from aurore.generation import sampling
from aurore.generation.sampling import InvalidField

RULES = exercises.load_module(exercises.for_step("generate").number, "solution")
FEW = settings(max_examples=60, deadline=None)

finite_logits = st.lists(st.floats(-30, 30, allow_nan=False, width=32), min_size=1, max_size=24).map(
    lambda values: np.array(values, dtype=np.float64))


# --- the reference: each definition, written the plain way ---

def reference_order(logits) -> list[int]:
    """Likeliest first; equal logits in index order."""
    return sorted(range(len(logits)), key=lambda i: (-logits[i], i))


def reference_softmax(logits) -> np.ndarray:
    finite = [x for x in logits if x != -math.inf]
    top = max(finite)
    weights = [0.0 if x == -math.inf else math.exp(x - top) for x in logits]
    total = math.fsum(weights)
    return np.array([w / total for w in weights])


def reference_top_k(logits, k) -> set[int]:
    return set(reference_order(logits)[:k])


def reference_top_p(logits, p) -> set[int]:
    """The likeliest tokens, one at a time, while the mass taken before each one is below p."""
    probabilities = reference_softmax(logits)
    kept, mass = set(), 0.0
    for i in reference_order(logits):
        if mass >= p:
            break
        kept.add(i)
        mass = math.fsum([mass, probabilities[i]])
    return kept


def kept(filtered, logits) -> set[int]:
    filtered = np.asarray(filtered, dtype=np.float64)
    assert filtered.shape == np.shape(logits)
    for i in range(len(logits)):       # a kept logit is unchanged; the others are -inf
        assert filtered[i] == logits[i] or filtered[i] == -math.inf
    return {i for i in range(len(logits)) if filtered[i] != -math.inf}


def params(**fields):
    base = dict(strategy="top_p", temperature=1.0, top_k=40, top_p=0.95, max_new_tokens=10)
    return SimpleNamespace(**{**base, **fields})


# --- the rules ---

@FEW
@given(finite_logits)
def test_softmax_matches_the_definition_and_sums_to_one(logits):
    got = RULES.softmax(logits)
    assert np.allclose(got, reference_softmax(logits), rtol=1e-9, atol=1e-12)
    assert math.isclose(got.sum(), 1.0, rel_tol=1e-9)


def test_softmax_gives_minus_infinity_a_zero_and_survives_huge_logits():
    got = RULES.softmax([-math.inf, 1000.0, 1000.0, -math.inf])
    assert list(got) == [0.0, 0.5, 0.5, 0.0]


@FEW
@given(st.lists(st.sampled_from([-2.0, 0.0, 1.5, 3.0, -math.inf]), min_size=1, max_size=40)
       .filter(lambda values: max(values) > -math.inf))
@example([1.0] * 40)              # more ties than the quick path takes
def test_the_order_is_likeliest_first_and_ties_in_index_order(values):
    logits = np.array(values)
    assert list(RULES.sort_descending(logits)) == reference_order(list(values))


@FEW
@given(finite_logits)
def test_greedy_is_the_first_of_the_largest(logits):
    assert RULES.greedy(logits) == reference_order(list(logits))[0]


@FEW
@given(finite_logits, st.floats(0.05, 2.0))
def test_the_temperature_divides_and_leaves_the_input_alone(logits, temperature):
    before = logits.copy()
    got = RULES.apply_temperature(logits, temperature)
    assert np.array_equal(got, before / temperature) and np.array_equal(logits, before)


@FEW
@given(finite_logits, st.integers(1, 30))
def test_top_k_keeps_exactly_the_k_first_in_order(logits, k):
    assert kept(RULES.top_k_filter(logits, k), logits) == reference_top_k(list(logits), k)


@FEW
@given(st.lists(st.sampled_from([0.0, 1.0, 2.0]), min_size=2, max_size=12), st.integers(1, 12))
def test_top_k_on_ties_keeps_the_first_indices(values, k):
    logits = np.array(values)
    assert kept(RULES.top_k_filter(logits, k), logits) == reference_top_k(values, k)


@FEW
@given(finite_logits, st.floats(0.001, 0.999))
def test_top_p_keeps_the_smallest_likeliest_set_reaching_p(logits, p):
    probabilities = reference_softmax(logits)
    masses = np.cumsum([probabilities[i] for i in reference_order(list(logits))])
    assume(np.min(np.abs(masses - p)) > 1e-9)      # exactly-on-the-boundary cases: the next test
    got = kept(RULES.top_p_filter(logits, p), logits)
    assert got == reference_top_p(list(logits), p)
    assert reference_order(list(logits))[0] in got


@FEW
@given(st.sampled_from([1, 2, 4, 8, 16]), st.data())
def test_top_p_on_the_boundary_stops_when_the_mass_is_reached(likely, data):
    """`likely` tokens of equal probability 1/likely (exact in binary), the others impossible.

    With p = j / likely, the mass before the (j+1)-th token is exactly p: that
    token is not kept (the mass is reached), so exactly j tokens are.
    """
    unlikely = data.draw(st.integers(0, 6))
    logits = np.array([0.0] * likely + [-800.0] * unlikely)          # exp(-800) is 0.0 in float64
    logits = logits[data.draw(st.permutations(range(len(logits))))]
    j = data.draw(st.integers(1, likely))
    got = kept(RULES.top_p_filter(logits, j / likely), logits)
    assert got == set(reference_order(list(logits))[:j])


def test_top_p_of_one_keeps_every_possible_token_and_a_tiny_p_the_likeliest():
    logits = np.array([0.0, 0.0, 0.0, 0.0])
    assert kept(RULES.top_p_filter(logits, 1.0), logits) == {0, 1, 2, 3}
    logits = np.array([0.3, 2.0, 1.0])
    assert kept(RULES.top_p_filter(logits, 1e-9), logits) == {1}


@FEW
@given(finite_logits, st.sampled_from(["top_k", "top_p"]), st.floats(0.3, 1.5), st.integers(1, 5),
       st.floats(0.2, 0.99), st.integers(0, 2**32 - 1))
def test_a_draw_follows_the_reference_distribution_with_the_same_generator(logits, strategy, temperature, k,
                                                                           p, seed):
    scaled = logits / temperature
    allowed = reference_top_k(list(scaled), k) if strategy == "top_k" else reference_top_p(list(scaled), p)
    masses = np.cumsum(sorted(reference_softmax(scaled), reverse=True))
    assume(strategy == "top_k" or np.min(np.abs(masses - p)) > 1e-9)
    restricted = np.array([x if i in allowed else -math.inf for i, x in enumerate(scaled)])
    expected = int(np.random.default_rng(seed).choice(len(logits), p=reference_softmax(restricted)))
    settings_ = params(strategy=strategy, temperature=temperature, top_k=k, top_p=p)
    got = RULES.choose_next_token(logits, settings_, np.random.default_rng(seed))
    assert got == expected and got in allowed


def test_draws_follow_the_probabilities_over_many_seeds():
    """Frequencies over 4,000 draws of one generator: within 4 standard deviations of the reference."""
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    rng = np.random.default_rng(7)
    counts = np.bincount([RULES.choose_next_token(logits, params(strategy="top_k", top_k=3), rng)
                          for _ in range(4000)], minlength=4)
    expected = np.array([0.5, 0.3, 0.15, 0.0]) / 0.95
    assert counts[3] == 0
    spread = np.sqrt(4000 * expected * (1 - expected)) * 4
    assert np.all(np.abs(counts - 4000 * expected) <= spread + 1e-9)


def test_greedy_draws_nothing():
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    assert RULES.choose_next_token(np.array([0.0, 5.0, 1.0]), params(strategy="greedy"), rng) == 1
    assert rng.bit_generator.state == state


class Model:
    """A fake model: the logits of each step are given; records what it was asked."""

    def __init__(self, steps):
        self.steps, self.calls = [np.array(s, dtype=float) for s in steps], []

    def start(self, prompt_ids):
        self.calls.append(("start", list(prompt_ids)))
        return self.steps[0]

    def next(self, token):
        self.calls.append(("next", token))
        return self.steps[len(self.calls) - 1]


def test_decode_yields_each_choice_and_asks_the_model_only_for_what_it_needs():
    model = Model([[0, 9, 0], [9, 0, 0], [0, 0, 9], [0, 9, 0]])
    rng = np.random.default_rng(0)
    got = list(RULES.decode(model, [5, 6], params(strategy="greedy", max_new_tokens=3), rng, end_of_text_id=99))
    assert got == [1, 0, 2]
    assert model.calls == [("start", [5, 6]), ("next", 1), ("next", 0)]      # no call after the last token


def test_decode_stops_on_the_end_of_text_without_yielding_it():
    model = Model([[0, 9, 0], [0, 0, 9], [9, 0, 0]])
    got = list(RULES.decode(model, [1], params(strategy="greedy", max_new_tokens=10), None, end_of_text_id=2))
    assert got == [1] and model.calls == [("start", [1]), ("next", 1)]


# --- the settings' limits (aurore.generation.sampling) ---

@FEW
@given(st.one_of(st.integers(-5, 1030), st.booleans(), st.floats(allow_nan=True), st.none(), st.text(max_size=3)))
@example(0)
@example(1)
@example(1024)
@example(1025)
def test_max_new_tokens_takes_exactly_the_integers_from_1_to_the_limit(value):
    accepted = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= sampling.MAX_NEW_TOKENS
    try:
        got = sampling.checked({"max_new_tokens": value}).max_new_tokens
    except InvalidField as error:
        assert not accepted and error.field == "max_new_tokens" and error.status == 422
        assert error.code == ("out_of_range" if isinstance(value, int) and not isinstance(value, bool)
                              else "wrong_type")
    else:
        assert accepted and got == value


@FEW
@given(st.sampled_from(["temperature", "top_p"]),
       st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3), st.booleans(), st.none()))
@example("temperature", 0.0)
@example("temperature", 2.0)
@example("temperature", 2.0000001)
@example("top_p", 1.0)
@example("top_p", 0.0)
@example("top_p", 5e-324)
def test_numbers_take_exactly_their_documented_interval(name, value):
    high = {"temperature": sampling.MAX_TEMPERATURE, "top_p": 1.0}[name]
    accepted = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                and 0 < value <= high)
    try:
        got = getattr(sampling.checked({name: value}), name)
    except InvalidField as error:
        assert not accepted and error.field == name
        assert error.allowed == f"a number in (0, {high:g}]"
    else:
        assert accepted and got == float(value) and isinstance(got, float)


@pytest.mark.parametrize("value, accepted", [(0, False), (1, True), (1000, True), (1001, False), (True, False),
                                             (2.0, False)])
def test_top_k_takes_the_integers_from_1_to_1000(value, accepted):
    if accepted:
        assert sampling.checked({"top_k": value}).top_k == value
    else:
        with pytest.raises(InvalidField) as refused:
            sampling.checked({"top_k": value})
        assert refused.value.allowed == "an integer from 1 to 1000"


@pytest.mark.parametrize("value, accepted", [(None, True), (0, True), (2**63 - 1, True), (2**63, False),
                                             (-1, False)])
def test_the_seed_is_optional_and_bounded(value, accepted):
    if accepted:
        assert sampling.checked({"seed": value}).seed == value
    else:
        with pytest.raises(InvalidField, match="`seed`"):
            sampling.checked({"seed": value})


@pytest.mark.parametrize("stop, accepted", [
    (None, ()), ("fin", ("fin",)), (["a", "b", "c", "d"], ("a", "b", "c", "d")), (["a"] * 5, None),
    ("x" * 64, ("x" * 64,)), ("x" * 65, None), ([""], None), ("", None), ([1], None), (3, None),
    (["\ud800"], None)])
def test_stop_strings_take_up_to_four_of_one_to_sixty_four_characters(stop, accepted):
    if accepted is not None:
        assert sampling.checked({"stop": stop}).stop == accepted
    else:
        with pytest.raises(InvalidField, match="`stop`"):
            sampling.checked({"stop": stop})


def test_choices_and_flags_take_only_their_values():
    assert sampling.checked({"strategy": "top_k"}).strategy == "top_k"
    for value, code in (("TOP_K", "invalid_value"), (1, "wrong_type")):
        with pytest.raises(InvalidField) as refused:
            sampling.checked({"strategy": value})
        assert refused.value.code == code and refused.value.allowed == 'one of "greedy", "top_k", "top_p"'
    with pytest.raises(InvalidField, match="true or false"):
        sampling.checked({"stop_at_sentence_end": 1})
    assert sampling.checked({"stop_at_sentence_end": True}).stop_at_sentence_end is True


def test_a_server_limit_lowers_max_new_tokens_and_a_refusal_names_the_caller_s_field():
    assert sampling.checked({"max_new_tokens": 50}, max_new_tokens=50).max_new_tokens == 50
    with pytest.raises(InvalidField) as refused:
        sampling.checked({"max_new_tokens": 51}, max_new_tokens=50, names={"max_new_tokens": "max_tokens"})
    assert refused.value.field == "max_tokens" and "`max_tokens` is 51; it must be from 1 to 50." == \
        refused.value.message
    with pytest.raises(InvalidField) as refused:
        sampling.checked({"colour": 1}, names={"colour": "couleur"})
    assert refused.value.field == "couleur" and refused.value.code == "unknown_field"


def test_the_defaults_and_limits_are_the_documented_ones():
    defaults = sampling.SamplingParams()
    assert (defaults.max_new_tokens, defaults.strategy, defaults.temperature, defaults.top_k, defaults.top_p,
            defaults.seed, defaults.stop_at_sentence_end, defaults.stop) == (100, "top_p", 0.8, 40, 0.95, None,
                                                                              False, ())
    assert sampling.limits(50) == {
        "max_new_tokens": {"min": 1, "max": 50, "default": 100},
        "temperature": {"min_exclusive": 0, "max": 2.0, "default": 0.8},
        "top_k": {"min": 1, "max": 1000, "default": 40},
        "top_p": {"min_exclusive": 0, "max": 1, "default": 0.95},
        "strategies": ["greedy", "top_k", "top_p"], "stop": {"max_strings": 4, "max_chars": 64}}


@pytest.mark.parametrize("value, name", [(None, "null"), (True, "a boolean"), (3, "an integer"), (0.5, "a number"),
                                         ("x", "a string"), ([1], "an array"), ((1,), "an array"),
                                         ({"a": 1}, "an object")])
def test_json_type_names_each_kind(value, name):
    assert sampling.json_type(value) == name


def test_the_cli_flag_is_the_name_with_dashes():
    assert [s.flag for s in sampling.FIELDS if s.name in ("top_k", "max_new_tokens")] == ["--max-new-tokens",
                                                                                            "--top-k"]


# --- every refusal, word for word: what the API, the form and the CLI show ---

SEED_ALLOWED = f"an integer from 0 to {2**63 - 1} or null"
STOP_ALLOWED = "a string or an array of up to 4 non-empty strings of at most 64 characters"


@pytest.mark.parametrize("values, field, message, allowed, code", [
    ({"top_k": "3"}, "top_k", "`top_k` must be an integer, not a string.", "an integer from 1 to 1000", "wrong_type"),
    ({"top_k": True}, "top_k", "`top_k` must be an integer, not a boolean.", "an integer from 1 to 1000",
     "wrong_type"),
    ({"top_k": 0}, "top_k", "`top_k` is 0; it must be from 1 to 1000.", "an integer from 1 to 1000", "out_of_range"),
    ({"seed": -1}, "seed", f"`seed` is -1; it must be from 0 to {2**63 - 1}.", SEED_ALLOWED, "out_of_range"),
    ({"seed": 1.5}, "seed", "`seed` must be an integer, not a number.", SEED_ALLOWED, "wrong_type"),
    ({"temperature": "hot"}, "temperature", "`temperature` must be a number, not a string.", "a number in (0, 2]",
     "wrong_type"),
    ({"temperature": 0}, "temperature", "`temperature` is 0; it must be in (0, 2].", "a number in (0, 2]",
     "out_of_range"),
    ({"top_p": 1.5}, "top_p", "`top_p` is 1.5; it must be in (0, 1].", "a number in (0, 1]", "out_of_range"),
    ({"top_p": None}, "top_p", "`top_p` must be a number, not null.", "a number in (0, 1]", "wrong_type"),
    ({"stop_at_sentence_end": "yes"}, "stop_at_sentence_end", "`stop_at_sentence_end` must be true or false, "
     "not a string.", "true or false", "wrong_type"),
    ({"strategy": "beam"}, "strategy", '`strategy` is "beam"; it must be one of "greedy", "top_k", "top_p".',
     'one of "greedy", "top_k", "top_p"', "invalid_value"),
    ({"strategy": "aléatoire"}, "strategy", '`strategy` is "aléatoire"; it must be one of "greedy", "top_k", '
     '"top_p".', 'one of "greedy", "top_k", "top_p"', "invalid_value"),
    ({"strategy": ["top_k"]}, "strategy", '`strategy` is an array; it must be one of "greedy", "top_k", "top_p".',
     'one of "greedy", "top_k", "top_p"', "wrong_type"),
    ({"stop": [1]}, "stop", "`stop` must be a string or an array of strings.", STOP_ALLOWED, "wrong_type"),
    ({"stop": {"a": 1}}, "stop", "`stop` must be a string or an array of strings.", STOP_ALLOWED, "wrong_type"),
    ({"stop": ["a"] * 5}, "stop", "`stop` must hold at most 4 strings, each 1 to 64 characters.", STOP_ALLOWED,
     "out_of_range"),
    ({"stop": "\udc80"}, "stop", "`stop` contains an unpaired surrogate.", STOP_ALLOWED, "invalid_unicode"),
    ({"colour": 1}, "colour", "Unknown setting `colour`.", "settings: " + ", ".join(sampling.setting_names()),
     "unknown_field"),
])
def test_each_refusal_says_what_is_wrong_and_what_is_allowed(values, field, message, allowed, code):
    with pytest.raises(InvalidField) as refused:
        sampling.checked(values)
    error = refused.value
    assert (error.field, error.message, str(error), error.allowed, error.code, error.status) == \
        (field, message, message, allowed, code, 422)


def test_a_closed_interval_takes_its_ends_and_names_itself_so():
    assert sampling.check_number("x", 0, 0, 1, low_open=False) == 0.0
    assert sampling.check_number("x", 1, 0, 1, low_open=False) == 1.0
    with pytest.raises(InvalidField) as refused:
        sampling.check_number("x", -0.5, 0, 1, low_open=False)
    assert (refused.value.message, refused.value.allowed) == ("`x` is -0.5; it must be in [0, 1].", "a number in [0, 1]")
    assert sampling.check_int("n", None, 1, 3, nullable=True) is None
    with pytest.raises(InvalidField, match="must be an integer, not null") as refused:
        sampling.check_int("n", None, 1, 3)
    assert refused.value.allowed == "an integer from 1 to 3"


def test_a_refusal_made_without_a_code_is_an_invalid_value():
    error = InvalidField("x", "`x` is wrong.")
    assert (error.code, error.allowed, error.field) == ("invalid_value", None, "x")
    renamed = error.renamed({"x": "--ex"})
    assert (renamed.field, renamed.message, renamed.code) == ("--ex", "`--ex` is wrong.", "invalid_value")


def test_the_settings_class_is_built_from_the_fields():
    """params_class, called anew (SamplingParams itself was built at import): each field checked on creation."""
    Params = sampling.params_class(sampling.FIELDS)
    assert Params.__name__ == "SamplingParams" and Params.__module__ == "aurore.generation.sampling"
    assert Params.__doc__ == ("How to choose the tokens; every field checked on creation (`InvalidField` naming it).\n\n"
                              "Fields (sampling.FIELDS): max_new_tokens, strategy, temperature, top_k, top_p, seed, "
                              "stop_at_sentence_end, stop.")
    made = Params(top_k=3, temperature=1, stop="fin")
    assert (made.top_k, made.temperature, made.stop, made.max_new_tokens, made.seed) == (3, 1.0, ("fin",), 100, None)
    assert isinstance(made.temperature, float)
    with pytest.raises(Exception):
        made.top_k = 4                                       # frozen: a request's settings never change
    assert Params(max_new_tokens=50, max_new_tokens_limit=50).max_new_tokens == 50
    with pytest.raises(InvalidField, match="from 1 to 50"):
        Params(max_new_tokens=51, max_new_tokens_limit=50)
    with pytest.raises(InvalidField, match="`top_p` is 0"):
        Params(top_p=0)
    assert [field.name for field in dataclasses.fields(Params)] == list(sampling.setting_names())
    assert Params() == Params() and Params(seed=1) != Params(seed=2)


@FEW
@given(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0]), min_size=70, max_size=200))
def test_the_order_with_many_ties_is_still_likeliest_first_in_index_order(values):
    """More than 32 tied pairs: the other path of sort_descending (a stable sort of the whole vector)."""
    assert list(RULES.sort_descending(np.array(values))) == reference_order(values)


def test_a_nan_logit_comes_last():
    assert list(RULES.sort_descending(np.array([1.0, math.nan, 3.0, 1.0]))) == [2, 0, 3, 1]


def test_integer_logits_are_filtered_as_numbers():
    """Logits given as plain ints (a list, as a learner may pass): -inf must fit, so the result is float."""
    top_k = RULES.top_k_filter([1, 3, 2], 1)
    assert list(top_k) == [-math.inf, 3.0, -math.inf]
    top_p = RULES.top_p_filter([0, 5, 0], 0.5)
    assert list(top_p) == [-math.inf, 5.0, -math.inf]


@pytest.mark.parametrize("strategy, settings_, allowed", [("top_p", {"top_p": 0.5}, {0, 1}),
                                                        ("top_k", {"top_k": 3}, {0, 1, 2})])
def test_a_draw_never_leaves_the_filter_s_tokens(strategy, settings_, allowed):
    """Equally likely tokens: top-p 0.5 of four keeps the first two (1/4 each, exact), top-k 3 of five the
    first three. Over 300 seeds the draws stay among them, and each of them is drawn."""
    logits = np.zeros(5)
    if strategy == "top_p":
        logits = np.array([0.0, 0.0, 0.0, 0.0])                 # 1/4 each: the first two reach 0.5
    drawn = {RULES.choose_next_token(logits, params(strategy=strategy, temperature=1.0, **settings_),
                                     np.random.default_rng(seed)) for seed in range(300)}
    assert drawn == allowed
