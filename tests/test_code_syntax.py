"""Issue 27: the dedent stop, the failure classes, parse-guided choice, and the checks run in a child process.

No trained model: the completions are scripted (what a model would write), so
each rule is checked exactly. The API's `syntax` option: tests/test_code_completion_api.py.
"""

from __future__ import annotations

import pytest

from aurore.bonus import code_checks, code_syntax

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


def test_functions_the_test_suite_only_calls_are_checked_against_their_real_bodys_values(tmp_path):
    library = tmp_path / "lib"
    (library / "test").mkdir(parents=True)
    (library / "test" / "test_tiny.py").write_text(
        "import tiny\nclass T:\n    def test(self):\n"
        "        tiny.triple(2)\n        print(tiny.triple('ab'))\n        tiny.triple(VARIABLE)\n"
        "        tiny.nothing(1)\n        tiny.now()\n        tiny.opaque(1)\n        tiny.always()\n",
        encoding="utf-8")
    original = ("import time\n\ndef triple(x):\n    return 3 * x\n\ndef nothing(x):\n    print(x)\n\n"
                "def now():\n    return time.perf_counter()\n\ndef opaque(x):\n    return object()\n\n"
                "def always():\n    return None or 0\n")
    (library / "tiny.py").write_text(original, encoding="utf-8")
    from aurore.bonus import code_corpus

    text = code_corpus.normalise(original)
    listed = {f["name"]: f for f in code_checks.checked_functions("tiny.py", text, original, library / "test")}
    assert listed["triple"]["calls"] == ["triple(2)", "triple('ab')"] and listed["triple"]["source"] == "recorded"
    assert code_checks.record(listed["triple"]) == ["assert triple(2) == 6\n", "assert triple('ab') == 'ababab'\n"]
    assert code_checks.record(listed["nothing"]) == []          # returns None: nothing to compare
    assert code_checks.record(listed["now"]) == []              # not the same value twice
    assert code_checks.record(listed["opaque"]) == []           # not a literal
    assert code_checks.record(listed["always"]) == ["assert always() == 0\n"]
    found = code_checks.collect([("tiny.py", text)], library)
    assert [f["name"] for f in found] == ["triple", "always"]
    assert code_checks.run(found[0], "    return x + x + x\n") and not code_checks.run(found[0], "    return x * 2\n")


def test_checks_a_pass_body_passes_check_nothing_and_are_left_out(tmp_path):
    library = tmp_path / "lib"
    (library / "test").mkdir(parents=True)
    original = ('class Box:\n    def size(self):\n        """>>> Box.__name__\n'
                '        \'Box\'\n        """\n        return 1\n\n    def double(self, x):\n'
                '        """>>> Box().double(2)\n        4\n        """\n        return 2 * x\n')
    (library / "tiny.py").write_text(original, encoding="utf-8")
    from aurore.bonus import code_corpus

    text = code_corpus.normalise(original)
    assert [f["name"] for f in code_checks.checked_functions("tiny.py", text, original, library / "test")] \
        == ["size", "double"]
    found = code_checks.collect([("tiny.py", text)], library)
    assert [f["name"] for f in found] == ["double"]             # size's doctest never calls size
    assert code_checks.run(found[0], "        return x + x\n")


def test_pass_at_k_is_the_unbiased_estimate():
    assert code_checks.pass_at_k(5, 0, 1) == 0
    assert code_checks.pass_at_k(5, 1, 1) == pytest.approx(0.2)
    assert code_checks.pass_at_k(5, 1, 5) == 1
    assert code_checks.pass_at_k(5, 2, 2) == pytest.approx(1 - (3 * 2) / (5 * 4))
