"""Properties on random inputs (Hypothesis): the API's parameter parsing, stub derivation, sentence splitting.

- The API: any JSON body (and some that are not JSON) gets a 2xx or a 4xx
  with the app's one JSON error shape, never a 5xx, on every generation route.
- Stub derivation: from any well-formed solution, the stub parses, keeps
  every TODO instruction whole and in order, keeps every line outside the
  solution blocks, and shows no line of a solution block's code.
- Sentence splitting: no character is lost or invented (only the spaces
  between sentences go), in the corpus's Punkt splitter and the prompt's rules.

Example counts are modest (the suite runs on 2 cores in CI).
"""

from __future__ import annotations

import ast
import json
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from nltk.tokenize.punkt import PunktParameters

from aurore.corpus import sentence_ends, sentences
from aurore.course import exercises
from aurore.generation import sampling
from aurore.web import create_app
from tests.fake_generator import FakeGenerator, fake_factory, make_fake_model_dirs

FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the API ---

@pytest.fixture(scope="module")
def api(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    make_fake_model_dirs(folder / "models", ("cpu",))
    app = create_app({"DATA_DIR": str(folder), "TESTING": True, "GENERATION_FACTORY": fake_factory(FakeGenerator())})
    yield app.test_client()
    app.extensions["aurore_generation"].close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)

FIELD_NAMES = [*sampling.setting_names(), "prompt", "model", "max_tokens", "messages", "n", "stream", "echo",
               "logprobs", "user", "suffix", "best_of", "presence_penalty"]
#: A few values each field likes to see, so that many bodies pass the first check and reach the next ones.
FIELD_VALUES = st.one_of(json_values, st.sampled_from(["top_k", "greedy", "top_p", "cpu", "Il était", ""]),
                         st.integers(0, 3), st.floats(0, 2.5), st.lists(st.text(max_size=70), max_size=5))
bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(FIELD_NAMES), FIELD_VALUES, max_size=6).map(
        lambda body: {**body, "max_new_tokens": 2} if "max_new_tokens" in body and body["max_new_tokens"] == 0 else
        body),
    st.fixed_dictionaries({"prompt": st.text(max_size=30)},
                          optional={name: FIELD_VALUES for name in sampling.setting_names()}))


def _answer_is_json_and_not_a_server_error(answer, route):
    assert answer.status_code < 500, (route, answer.status_code, answer.get_data(as_text=True)[:300])
    if answer.status_code >= 400:
        error = json.loads(answer.get_data(as_text=True))["error"]
        assert error["message"] and isinstance(error["message"], str), (route, error)
        assert {"type", "code", "param"} <= set(error)


@FEW
@given(body=bodies, route=st.sampled_from(["/api/generate", "/v1/completions", "/api/generate/stream"]))
def test_any_json_body_gets_a_2xx_or_a_4xx_json_never_a_5xx(api, body, route):
    answer = api.post(route, data=json.dumps(body), content_type="application/json")
    _answer_is_json_and_not_a_server_error(answer, route)
    if answer.status_code < 300 and route == "/api/generate":
        assert isinstance(answer.get_json()["text"], str)
    answer.close()


@FEW
@given(raw=st.binary(max_size=60) | st.text(max_size=60).map(str.encode)
       | st.sampled_from([b"NaN", b'{"prompt": NaN}', b'{"prompt": Infinity}', b"[" * 5000, b"\xff\xfe"]))
def test_any_bytes_get_a_4xx_json_or_a_2xx(api, raw):
    answer = api.post("/api/generate", data=raw, content_type="application/json")
    _answer_is_json_and_not_a_server_error(answer, "/api/generate")


# --- stub derivation ---

identifier = st.text(string.ascii_lowercase, min_size=1, max_size=6)


@st.composite
def solution_sources(draw):
    """A module of functions whose bodies hold BEGIN/END SOLUTION blocks with TODOs, code and STUB lines.

    Returns (source, todo_blocks, secret_lines, outside_lines, stub_lines).
    """
    lines, todos, secrets, outside, stubs = ['"""A generated solution."""\n', "\n"], [], [], [], []
    outside += lines[:]
    counter = iter(range(10_000))
    for function in range(draw(st.integers(1, 3))):
        header = f"def f{function}_{draw(identifier)}(x):\n"
        lines.append(header)
        outside.append(header)
        for _block in range(draw(st.integers(1, 2))):
            indent = "    " * draw(st.integers(1, 2))
            if indent == "        ":
                opener = f"    if x:\n"
                lines.append(opener)
                outside.append(opener)
            lines.append(f"{indent}# BEGIN SOLUTION\n")
            block_stubs = []
            for _item in range(draw(st.integers(1, 4))):
                kind = draw(st.sampled_from(["todo", "code", "stub", "comment", "blank"]))
                if kind == "todo":
                    todo = [f"{indent}# TODO: {draw(identifier)} {next(counter)}\n"]
                    todo += [f"{indent}# {draw(identifier)} more {next(counter)}\n"
                             for _ in range(draw(st.integers(0, 2)))]
                    lines += todo
                    todos.append(todo)
                elif kind == "code":
                    secret = f"{indent}secret_{next(counter)} = x + {draw(st.integers(0, 99))}\n"
                    lines.append(secret)
                    secrets.append(secret)
                elif kind == "stub":
                    line = f"value_{next(counter)} = None"
                    lines.append(f"{indent}# STUB: {line}\n")
                    block_stubs.append(f"{indent}{line}\n")
                elif kind == "comment":
                    comment = f"{indent}    # an aside about the code {next(counter)}\n"
                    lines.append(f"{indent}secret_{next(counter)} = 0\n")
                    secrets.append(lines[-1])
                    lines.append(comment)
                    secrets.append(comment)
                else:
                    lines.append("\n")
            secret = f"{indent}secret_{next(counter)} = x\n"       # a solution block always holds code
            lines.append(secret)
            secrets.append(secret)
            lines.append(f"{indent}    # END SOLUTION\n" if draw(st.booleans()) else f"{indent}# END SOLUTION\n")
            stubs += block_stubs
        tail = f"    return x  # after {next(counter)}\n"
        lines += [tail, "\n"]
        outside += [tail, "\n"]
    return "".join(lines), todos, secrets, outside, stubs


@FEW
@given(solution_sources())
def test_a_derived_stub_parses_keeps_every_todo_whole_and_leaks_no_solution_line(generated):
    source, todos, secrets, outside, stubs = generated
    ast.parse(source)                                       # the generated solution is valid Python
    stub = exercises.derive_stub(source)
    ast.parse(stub)
    stub_lines = stub.splitlines(keepends=True)
    for secret in secrets:
        assert secret not in stub_lines, secret
    position = 0
    for todo in todos:                                      # whole, in order
        found = next(i for i in range(position, len(stub_lines))
                     if stub_lines[i:i + len(todo)] == todo)
        position = found + len(todo)
    kept = [line for line in stub_lines if line in outside]
    assert kept == outside                                  # every line outside the blocks, in order
    for line in stubs:
        assert line in stub_lines
    allowed = set(outside) | {line for todo in todos for line in todo} | set(stubs)
    for line in stub_lines:
        assert line in allowed or line.strip() == 'raise NotImplementedError("TODO")', line


@pytest.mark.parametrize("exercise", exercises.all_exercises(), ids=lambda exercise: exercise.slug)
def test_every_real_stub_parses_and_shows_no_solution_code(exercise):
    source = exercise.solution_path.read_text(encoding="utf-8")
    stub = exercises.stub_for(exercise)
    ast.parse(stub)
    inside, in_block = [], False
    for line in source.splitlines():
        if re.match(r"\s*# BEGIN SOLUTION", line):
            in_block = True
        elif re.match(r"\s*# END SOLUTION", line):
            in_block = False
        elif in_block and line.strip() and not line.strip().startswith("#"):
            inside.append(line)
    outside = set(re.sub(r"(?s)# BEGIN SOLUTION.*?# END SOLUTION", "", source).splitlines())
    leaked = [line for line in inside if line in stub.splitlines() and line not in outside]
    assert not leaked, f"{exercise.slug}: solution lines in the stub: {leaked}"
    # The stub is French by default: every TODO the solution gives in French (or in no language) is kept.
    assert stub.count("# TODO") == len(re.findall(r"# (?:\[fr\] )?TODO", source)) > 0


# --- sentence splitting ---

prose = st.lists(st.sampled_from(["Il", "partit", "M.", "Mme", "Dupont", "«", "»", "Venez", "!", "?", ".", "…",
                                  "...", "elle", "dit-elle", "—", "etc.", "Germain", "la", "mare", ",", "\n", "  ",
                                  "\u00a0", "A.", "’", "Puis"]), min_size=0, max_size=30).map(" ".join)


def _letters(text: str) -> str:
    return re.sub(r"\s+", "", text)


@FEW
@given(prose)
def test_the_punkt_splitter_loses_and_invents_no_character(paragraph):
    split = sentences.SentenceSplitter(PunktParameters())
    got = split(paragraph)
    assert _letters("".join(got)) == _letters(paragraph)
    tidy = " ".join(paragraph.split())                      # a paragraph as the corpus cleaning leaves it
    assert all(sentence and sentence == sentence.strip() for sentence in split(tidy))


@FEW
@given(prose | st.text(max_size=40))
def test_the_prompt_s_sentences_lose_and_invent_no_character(text):
    got = sentence_ends.split_prompt(text)
    assert got and all(got[:-1])                            # only the last one may be empty
    position = 0
    for number, sentence in enumerate(got):                 # the text itself, cut: only spaces between pieces go
        if number:
            while position < len(text) and text[position].isspace():
                position += 1
        assert text.startswith(sentence, position), (text, got)
        position += len(sentence)
    assert not text[position:].strip()


@pytest.mark.parametrize("source, message", [
    ("x = 1\n# END SOLUTION\n", "line 2: END SOLUTION without BEGIN SOLUTION"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n",
     "line 3: nested BEGIN SOLUTION"),
    ("\n\ndef f():\n    # BEGIN SOLUTION\n    return 1\n", "line 4: BEGIN SOLUTION without END SOLUTION"),
])
def test_a_stub_s_unbalanced_markers_are_named_with_their_line(source, message):
    with pytest.raises(ValueError) as refused:
        exercises.derive_stub(source)
    assert str(refused.value) == message


def test_a_stub_leaves_out_a_plain_comment_atop_a_module_level_block():
    source = "# BEGIN SOLUTION\n# the answer, worked out\nMIN_WORDS = 3\n# STUB: MIN_WORDS = None\n# END SOLUTION\n"
    assert exercises.derive_stub(source) == "MIN_WORDS = None\n"
