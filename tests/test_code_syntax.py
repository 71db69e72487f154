"""Issue 27: the dedent stop, the failure classes, parse-guided choice, the checks run in a child process,
and the `syntax` option of /v1/completions, end to end with the real `openai` client.

No trained model: the completions are scripted (what a model would write), so
each rule is checked exactly; the tiny model serves the API's error paths.
"""

from __future__ import annotations

import threading

import pytest
import waitress

from aurore.bonus import code_checks, code_syntax
from aurore.web import create_app
from aurore.web.server import waitress_options
from tests.fake_generator import FakeGenerator, FakeSteps, fake_factory, make_fake_model_dirs

# -- the dedent stop ----------------------------------------------------------------------------


def test_the_function_ends_at_the_first_line_indented_no_deeper_than_its_def():
    body, ended = code_syntax.function_end("def f(x):\n", "    y = x\n\n    return y\nz = 1\n    w = 2\n")
    assert (body, ended) == ("    y = x\n\n    return y\n", True)
    method = "    def m(self):\n"
    assert code_syntax.function_end(method, "        return 1\n    def n(self):\n") == ("        return 1\n", True)
    assert code_syntax.function_end(method, "        return 1\n      odd = 2\n") == (
        "        return 1\n      odd = 2\n", False)                     # deeper than the def: still the body


def test_without_a_dedent_the_body_is_kept_up_to_its_last_complete_line():
    assert code_syntax.function_end("def f():\n", "    a = 1\n    b = (2,") == ("    a = 1\n", False)
    assert code_syntax.function_end("def f():\n", "    a = 1") == ("", False)


# -- why completions fail -----------------------------------------------------------------------

@pytest.mark.parametrize("body, kind", [
    ("    return x + 1\n", "parses"),
    ("\n\n", "empty body"),
    ("    return (x +\n", "unclosed bracket"),
    ("    return [x for x in y)\n", "unclosed bracket"),
    ("    s = 'abc\n", "unterminated string"),
    ('    """never closed\n', "unterminated string"),
    ("    if x:\n", "block opened, never filled"),
    ("    a = 1\n        b = 2\n", "bad indentation"),
    ("    return x y\n", "other syntax error"),
])
def test_each_failure_gets_its_class(body, kind):
    assert code_syntax.classify("def f(x):\n", body) == kind


def test_the_failure_table_counts_ended_and_cut_bodies_apart():
    rows = [("def f():\n", "    return (1\n", False), ("def f():\n", "    return (1\n", True),
            ("def f():\n", "    return 1\n", True)]
    table = code_syntax.failure_table(rows)
    assert table["unclosed bracket"] == {"ended": 1, "cut": 1}
    assert table["parses"] == {"ended": 1, "cut": 0}
    assert sum(sum(counts.values()) for counts in table.values()) == 3


@pytest.mark.parametrize("body, trivial", [("    pass\n", True), ("    return x\n", True), ("    ...\n", True),
                                           ("    raise NotImplementedError\n\n", True),
                                           ("    y = x\n    return y\n", False)])
def test_trivial_bodies_are_recognised(body, trivial):
    assert code_syntax.is_trivial(body) is trivial


# -- parse-guided choice ------------------------------------------------------------------------

def scripted(texts):
    asked = []

    def draw(index):
        asked.append(index)
        return texts[index]

    return draw, asked


def test_the_guided_choice_keeps_the_first_body_that_parses_and_is_not_trivial_and_stops_there():
    draw, asked = scripted(["    return (x\n", "    pass\n", "    y = x\n    return y\nnext = 1\n", "    z = 1\n    q\n"])
    found = code_syntax.choose("def f(x):\n", draw, k=4)
    assert found["body"] == "    y = x\n    return y\n" and found["parses"] and not found["trivial"]
    assert asked == [0, 1, 2] and found["tries"] == 3              # no draw after the choice


def test_when_no_draw_qualifies_a_trivial_body_that_parses_beats_one_that_does_not():
    draw, asked = scripted(["    return (x\n", "    pass\n", "    return [\n"])
    found = code_syntax.choose("def f(x):\n", draw, k=3)
    assert (found["body"], found["parses"], found["trivial"], found["tries"]) == ("    pass\n", True, True, 3)
    assert asked == [0, 1, 2]


def test_an_editor_prompt_ending_in_an_indented_line_gets_the_rest_of_the_function_only():
    prompts = []

    def draw(asked, index):
        prompts.append(asked)
        return ["\n    return (x\n", "\n    y = x * 2\n    return y\n\ndef later():\n    pass\n"][index]

    found = code_syntax.complete_prompt("import os\n\ndef f(x):\n    ", draw, "parse", k=4)
    assert prompts == ["import os\n\ndef f(x):"] * 2            # the model writes the newline and indentation
    assert found["text"] == "y = x * 2\n    return y\n\n" and found["parses"] and found["tries"] == 2
    dedent = code_syntax.complete_prompt("def f(x):\n    y = fo", lambda asked, i: "o(x)\n    return y\nz = 1\n",
                                         "dedent")
    assert dedent["text"] == "o(x)\n    return y\n" and dedent["ended"] and dedent["tries"] == 1


# -- running candidates: a child process, a time limit ------------------------------------------

FUNCTION = {"path": "tiny.py", "module": "tiny", "package": "", "name": "double", "header": "def double(x):\n",
            "before": "import os\n\ndef double(x):\n", "after": "\nLATER = double(2)\n", "doctest": "",
            "asserts": ["assert double(3) == 6\n", "assert double('a') == 'aa'\n"]}


def test_a_candidate_passes_only_when_its_checks_pass_in_a_child_process():
    assert code_checks.run(FUNCTION, "    return x * 2\n")
    assert not code_checks.run(FUNCTION, "    return x + x + 0\n")          # double('a') fails
    assert not code_checks.run(FUNCTION, "    return (x\n")                   # does not parse
    assert not code_checks.run(FUNCTION, "    raise SystemExit(0)\n")        # exit 0 at import: checks never ran


def test_a_candidate_that_never_ends_is_stopped_and_fails():
    assert not code_checks.run(FUNCTION, "    while True:\n        pass\n", time_limit=2)


def test_doctests_check_a_candidate():
    function = {**FUNCTION, "asserts": [], "after": "\n", "doctest": ">>> double(4)\n8\n"}
    assert code_checks.run(function, "    return 2 * x\n")
    assert not code_checks.run(function, "    return 3 * x\n")


def test_checked_functions_take_doctests_and_the_test_suites_simple_asserts(tmp_path):
    (tmp_path / "test_tiny.py").write_text("import tiny\nfrom tiny import half\n"
                                           "class T:\n    def test(self):\n"
                                           "        self.assertEqual(tiny.double(3), 6)\n"
                                           "        self.assertEqual(2, half(4))\n"
                                           "        self.assertEqual(tiny.double(VARIABLE), 6)\n", encoding="utf-8")
    original = ('def double(x):\n    return 2 * x\n\ndef half(x):\n    return x // 2\n\n'
                'def square(x):\n    """>>> square(3)\n    9\n    """\n    return x * x\n\ndef other(x):\n    return x\n')
    from aurore.bonus import code_corpus

    found = {f["name"]: f for f in code_checks.checked_functions("tiny.py", code_corpus.normalise(original),
                                                                 original, tmp_path)}
    assert set(found) == {"double", "half", "square"}
    assert found["double"]["asserts"] == ["assert double(3) == 6\n"]      # the call with a variable is left out
    assert found["half"]["asserts"] == ["assert half(4) == 2\n"]
    assert ">>> square(3)" in found["square"]["doctest"] and found["square"]["header"] == "def square(x):\n"
    assert all(code_checks.run(f, f["body"]) for f in found.values())


def test_pass_at_k_is_the_unbiased_estimate():
    assert code_checks.pass_at_k(5, 0, 1) == 0
    assert code_checks.pass_at_k(5, 1, 1) == pytest.approx(0.2)
    assert code_checks.pass_at_k(5, 1, 5) == 1
    assert code_checks.pass_at_k(5, 2, 2) == pytest.approx(1 - (3 * 2) / (5 * 4))


# -- the API's `syntax` option, with the real openai client --------------------------------------

#: What the scripted model writes after "def f(x):", by seed.
SCRIPTS = {5: ["\n", "    return (", "x\n"], 6: ["\n", "    pass\n"],
           7: ["\n", "    y = x + 1\n", "    return y\n", "\ndef later", "():\n", "    pass\n"]}


class ScriptedSteps(FakeSteps):
    """Each row writes its seed's script, piece by piece, and stops before a stop string."""

    def __init__(self, generator, prompts, params):
        super().__init__(generator, prompts, params)
        self.scripts = [SCRIPTS.get(p.seed, ["\n", "    return ((\n"] * 20) for p in params]
        self.texts = [""] * len(prompts)

    def __next__(self):
        if self.closed or all(reason is not None for reason in self.finish_reasons):
            raise StopIteration
        pieces = []
        for row, script in enumerate(self.scripts):
            if self.finish_reasons[row] is not None:
                pieces.append("")
                continue
            piece = script[self.new_tokens[row]]
            cut = min((self.texts[row] + piece).find(stop) for stop in self.stops[row]
                      if stop in self.texts[row] + piece) if any(
                stop in self.texts[row] + piece for stop in self.stops[row]) else -1
            if cut >= 0:
                pieces.append((self.texts[row] + piece)[len(self.texts[row]):cut])
                self.finish_reasons[row] = "stop"
                continue
            self.texts[row] += piece
            pieces.append(piece)
            self.new_tokens[row] += 1
            if self.new_tokens[row] >= min(len(script), self.limits[row]):
                self.finish_reasons[row] = "end_of_text" if len(script) <= self.limits[row] else "length"
        self.generator.steps_done += 1
        return pieces


class ScriptedGenerator(FakeGenerator):
    def stream_batch(self, prompts, params):
        with self.lock:
            self.batch_sizes.append(len(prompts))
            self.params_seen.extend(params)
        return ScriptedSteps(self, prompts, params)


@pytest.fixture
def server(tmp_path):
    """The app on a free 127.0.0.1 port, serving the scripted model as "code"; yields (openai client, generator)."""
    openai = pytest.importorskip("openai")   # requirements-dev.txt installs it
    generator = ScriptedGenerator()
    make_fake_model_dirs(tmp_path / "models", ("code",))
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "GENERATION_FACTORY": fake_factory(generator)})
    running = waitress.create_server(app, host="127.0.0.1", port=0, **waitress_options(4))
    threading.Thread(target=running.run, daemon=True).start()
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{running.effective_port}/v1", api_key="unused", max_retries=0)
    yield client, generator
    running.close()
    app.extensions["aurore_generation"].close()


def test_the_openai_client_streams_a_completion_cut_by_an_editors_stop_sequences(server):
    client, _ = server
    stream = client.completions.create(model="code", prompt="def f(x):", max_tokens=20, seed=7, stream=True,
                                       stop=["\ndef ", "\nclass ", "\nif ", "\n#"])
    chunks = list(stream)
    assert "".join(chunk.choices[0].text for chunk in chunks) == "\n    y = x + 1\n    return y\n"
    assert chunks[-1].choices[0].finish_reason == "stop" and len(chunks) > 2          # piece by piece


def test_the_openai_client_gets_the_parse_guided_choice_and_its_draws(server):
    client, generator = server
    found = client.completions.create(model="code", prompt="def f(x):\n", max_tokens=20, seed=5, temperature=0.8,
                                      extra_body={"syntax": "parse", "best_of": 3})
    assert found.choices[0].text == "    y = x + 1\n    return y\n\n"
    assert found.choices[0].finish_reason == "stop"
    assert found.model_extra["aurore"]["draws"] == 3 and found.model_extra["aurore"]["parses"] is True
    assert [params.seed for params in generator.params_seen] == [5, 6, 7]            # one seed per draw
    assert found.usage.completion_tokens == 3 + 2 + 6
    streamed = list(client.completions.create(model="code", prompt="def f(x):\n", max_tokens=20, seed=5,
                                              stream=True, extra_body={"syntax": "parse", "best_of": 3}))
    assert "".join(chunk.choices[0].text for chunk in streamed) == found.choices[0].text


def test_best_of_bounds_the_draws_and_the_dedent_mode_draws_once(server):
    client, generator = server
    found = client.completions.create(model="code", prompt="def f(x):\n", max_tokens=6, seed=100,
                                      extra_body={"syntax": "parse", "best_of": 2})
    assert found.model_extra["aurore"] == {**found.model_extra["aurore"], "draws": 2, "parses": False}
    generator.params_seen.clear()
    once = client.completions.create(model="code", prompt="def f(x):\n", max_tokens=20, seed=7,
                                     extra_body={"syntax": "dedent"})
    assert once.choices[0].text == "    y = x + 1\n    return y\n\n" and len(generator.params_seen) == 1


@pytest.mark.parametrize("extra, field", [({"syntax": "ast"}, "syntax"), ({"best_of": 2}, "best_of"),
                                          ({"syntax": "parse", "best_of": 9}, "best_of"),
                                          ({"syntax": "parse", "best_of": True}, "best_of")])
def test_a_bad_syntax_option_is_a_clear_422(server, extra, field):
    client, _ = server
    import openai

    with pytest.raises(openai.UnprocessableEntityError) as raised:
        client.completions.create(model="code", prompt="def f(x):\n", extra_body=extra)
    assert raised.value.body["field"] == field and raised.value.body["allowed"]
