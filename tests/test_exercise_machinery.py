"""The exercise machinery: stub derivation, stubs in step with solutions,
every stub failing its checks and every solution passing them."""

import ast
import builtins
import io
import os
import re
import tokenize

import pytest

from aurore import paths
from aurore.course import exercises
from aurore.course.checks import runner
from aurore.errors import AuroreError

SOLUTION = '''\
def cut(text):
    """Keep what lies between the markers."""
    # BEGIN SOLUTION
    # TODO: find the markers and keep what lies between them.
    start = text.find("<")
    return text[start + 1:text.find(">")]
    # END SOLUTION


# BEGIN SOLUTION
# TODO: how many words make a sentence worth keeping?
# STUB: MIN_WORDS = None
MIN_WORDS = 3
# END SOLUTION
'''


def test_derive_stub_keeps_todos_and_replaces_bodies():
    stub = exercises.derive_stub(SOLUTION)
    assert stub == '''\
def cut(text):
    """Keep what lies between the markers."""
    # TODO: find the markers and keep what lies between them.
    raise NotImplementedError("TODO")


# TODO: how many words make a sentence worth keeping?
MIN_WORDS = None
'''


def test_derive_stub_keeps_an_instruction_written_on_several_lines():
    solution = '''\
def pack(stream, length):
    # BEGIN SOLUTION
    # TODO: cut the stream into blocks of `length` tokens,
    # dropping the last, incomplete block.
    blocks = len(stream) // length
    # a comment of the solution's own code stays out of the stub
    return stream[:blocks * length]
    # END SOLUTION


# BEGIN SOLUTION
# TODO: a constant to choose,
# between 2 and 10.
# STUB: SIZE = None
# the solution's own comment
SIZE = 4
# END SOLUTION
'''
    assert exercises.derive_stub(solution) == '''\
def pack(stream, length):
    # TODO: cut the stream into blocks of `length` tokens,
    # dropping the last, incomplete block.
    raise NotImplementedError("TODO")


# TODO: a constant to choose,
# between 2 and 10.
SIZE = None
'''


def instructions(source: str) -> list[str]:
    """The TODO instructions of a source, read with Python's own tokenizer (not with derive_stub's rules).

    An instruction is a full-line `# TODO` comment and the full-line comments right below it in the
    same column, marker lines aside; its text is theirs joined, without `#` and `TODO:`.
    """
    found, current, last = [], None, None   # last: (row, column) of the instruction's latest line
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT or token.line[:token.start[1]].strip():
            continue
        text = token.string.lstrip("#").strip()
        if text.startswith(("BEGIN SOLUTION", "END SOLUTION", "STUB:")):
            continue
        row, column = token.start
        if text.startswith("TODO"):
            text = text.removeprefix("TODO").lstrip(":").strip()
            if current is not None and last == (row - 1, column):
                current.append(text)
            else:
                current = [text]
                found.append(current)
        elif current is not None and last == (row - 1, column):
            current.append(text)
        else:
            continue
        last = (row, column)
    return [" ".join(lines) for lines in found]


@pytest.mark.parametrize("lang", exercises.LANGS)
@pytest.mark.parametrize("exercise", exercises.all_exercises(), ids=lambda e: e.slug)
def test_stub_instructions_are_the_solutions_and_end_whole(exercise, lang):
    """A stub keeps every instruction of its solution, whole (an instruction cut short misleads)."""
    solution = instructions(exercises.solution_in(exercise, lang))
    assert solution, f"{exercise.filename}: the solution has no TODO instruction"
    assert instructions(exercises.stub_for(exercise, lang)) == solution
    for text in solution:
        assert not text.endswith((",", "(", ";", ":")), f"{exercise.filename}: instruction cut short: {text!r}"
        assert text.endswith((".", "?", "!")), f"{exercise.filename}: instruction ends mid-sentence: {text!r}"


def _code_and_todos(source: str) -> tuple[str, list[tuple[str, int]]]:
    """A source's code without docstrings nor comments, and its TODO instructions counted per function, in order."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body[0].value.value = "docstring"
    where = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for line in range(node.lineno, node.end_lineno + 1):
                where[line] = node.name
    counts = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.string.lstrip("#").strip().startswith("TODO"):
            name = where.get(token.start[0], "(module)")
            if counts and counts[-1][0] == name:
                counts[-1] = (name, counts[-1][1] + 1)
            else:
                counts.append((name, 1))
    return ast.dump(tree), counts


@pytest.mark.parametrize("exercise", exercises.all_exercises(), ids=lambda e: e.slug)
def test_both_languages_come_from_the_one_solution_and_cannot_drift(exercise):
    """French and English stubs: the same code and identifiers, as many TODO lines in the same places,
    and every docstring and comment of the solution written in both languages (none left untranslated)."""
    french, english = (exercises.stub_for(exercise, lang) for lang in ("fr", "en"))
    (french_code, french_todos), (english_code, english_todos) = _code_and_todos(french), _code_and_todos(english)
    assert french_code == english_code
    assert french_todos == english_todos and french_todos
    assert "[fr]" not in french + english and "[en]" not in french + english
    solution = exercise.solution_path.read_text(encoding="utf-8")
    for number, line in enumerate(solution.splitlines(), 1):
        comment = line.strip()
        if comment.startswith("#") and not re.match(r"#:? \[(fr|en)\] |# (BEGIN SOLUTION|END SOLUTION|STUB: )", comment):
            pytest.fail(f"{exercise.filename}:{number}: a comment in one language only: {comment!r}")
    french_docs = [ast.get_docstring(node) for node in ast.walk(ast.parse(french))
                   if isinstance(node, (ast.Module, ast.FunctionDef)) and ast.get_docstring(node)]
    english_docs = [ast.get_docstring(node) for node in ast.walk(ast.parse(english))
                    if isinstance(node, (ast.Module, ast.FunctionDef)) and ast.get_docstring(node)]
    assert len(french_docs) == len(english_docs)
    untranslated = [doc for doc, other in zip(french_docs, english_docs) if doc == other]
    assert not untranslated, f"{exercise.filename}: docstrings with no French: {untranslated}"


def test_the_learners_file_is_french_unless_they_ask(tmp_path, monkeypatch):
    monkeypatch.setenv("AURORE_EXERCISES", str(tmp_path))
    exercise = exercises.get(1)
    assert exercises.sync()[0][1] == "written"
    assert "# TODO: trouvez le marqueur de début" in exercise.exercise_path.read_text(encoding="utf-8")
    assert exercises.untouched_lang(exercise) == "fr"
    assert exercises.reset_to_stub(1, "en") is not None          # the French stub is kept as a backup
    assert "# TODO: find the START marker" in exercise.exercise_path.read_text(encoding="utf-8")
    assert exercises.sync()[0][1] == "unchanged"                # an English stub stays English…
    assert [action for _, action, _ in exercises.sync(lang="fr")][0] == "written"     # …unless asked
    assert exercises.untouched_lang(exercise) == "fr"
    edited = exercise.exercise_path.read_text(encoding="utf-8") + "\n# mine\n"
    exercise.exercise_path.write_text(edited, encoding="utf-8")
    assert [action for _, action, _ in exercises.sync(lang="en")][0] == "kept"        # work is never rewritten
    assert exercise.exercise_path.read_text(encoding="utf-8") == edited
    assert exercises.language_of(exercise, edited) == "fr"


@pytest.mark.parametrize("bad", [
    "# BEGIN SOLUTION\nx = 1\n",
    "x = 1\n# END SOLUTION\n",
    "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n",
])
def test_derive_stub_rejects_unbalanced_markers(bad):
    with pytest.raises(ValueError):
        exercises.derive_stub(bad)


@pytest.mark.parametrize("text", ["../etc/passwd", "1; rm", "", "x", "123"])
def test_exercise_ids_are_validated(text):
    with pytest.raises(AuroreError):
        exercises.get(text)


def test_metadata_is_complete():
    numbers = [exercise.number for exercise in exercises.all_exercises()]
    # The main exercises run 1, 2, 3…; bonus exercises keep their own numbers (10 is LoRA's) whichever others exist.
    assert numbers == sorted(set(numbers)) and numbers[:7] == [1, 2, 3, 4, 5, 6, 7]
    for exercise in exercises.all_exercises():
        assert exercise.solution_path.is_file(), exercise.solution_path
        assert exercise.checks_path.is_file(), exercise.checks_path
        for lang in exercises.LANGS:
            assert exercise.title[lang].strip()
            assert len(exercise.lesson[lang]) > 200, f"exercise {exercise.number}: lesson ({lang}) too short"
        assert exercise.hints, f"exercise {exercise.number} has no hints"
        for hint in exercise.hints:
            assert all(set(hint[rung]) == set(exercises.LANGS) for rung in exercises.HINT_RUNGS)


@pytest.mark.parametrize("exercise", exercises.all_exercises(), ids=lambda e: e.slug)
def test_stub_is_derived_from_its_solution(exercise):
    """exercises/ must be regenerated (`python -m aurore exercises sync`) when a solution changes; it is French."""
    assert exercise.exercise_path.read_text(encoding="utf-8") == exercises.stub_for(exercise, "fr")


@pytest.mark.slow
@pytest.mark.timeout(1500)              # two check runs of up to 600 s each
@pytest.mark.parametrize("exercise", exercises.all_exercises(), ids=lambda e: e.slug)
def test_solution_passes_and_stub_fails_every_check(exercise, tmp_path):
    solved = runner.run_checks(exercise.number, "solution", wall_seconds=600)
    assert solved["all_passed"], solved["output"][-3000:]

    (tmp_path / exercise.filename).write_text(exercises.stub_for(exercise), encoding="utf-8")
    stubbed = runner.run_checks(exercise.number, "exercise", wall_seconds=600,
                                env={"AURORE_EXERCISES": str(tmp_path)})
    assert stubbed["status"] == "ok", stubbed["output"][-3000:]
    assert stubbed["checks"], "no check ran on the stub"
    still_passing = [c["id"] for c in stubbed["checks"] if c["outcome"] == "passed"]
    assert not still_passing, f"checks that pass on the bare stub: {still_passing}"
    assert all(c["message"] for c in stubbed["checks"])


def _french_prose():
    """The French text learners read: lessons, hints, titles and the course pages, code spans left out."""
    from aurore.web.workshop import course

    for exercise in exercises.all_exercises():
        yield f"exercise {exercise.number}", exercise.title["fr"] + "\n" + exercise.lesson["fr"]
        for hint in exercise.hints:
            for rung in exercises.HINT_RUNGS:
                yield f"exercise {exercise.number} (hint)", hint[rung]["fr"]
    for slug in course.PAGES:
        if slug != "glossary":           # it names the words not to use
            yield f"course/{slug}.fr.md", (course.COURSE_DIR / f"{slug}.fr.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("where, text", list(_french_prose()), ids=lambda value: value[:30])
def test_french_prose_says_jetons(where, text):
    """« jeton » in French; « tokens » only where the term is introduced, as `(*tokens*)`."""
    prose = re.sub(r"`[^`\n]*`", "", text).replace("(*tokens*)", "").replace("*tokens*", "")
    found = re.findall(r"[^\n]{0,30}\btokens?\b[^\n]{0,30}", prose)
    assert not found, f"{where}: say « jeton » in French: {found}"


# -- hints: one ladder per function, the answer only on its last rung ------------------------------
def _code_spans(text: str) -> list[ast.AST]:
    """The hint's `code` spans that parse as Python (an ellipsis … stands for what the learner writes)."""
    found = []
    for span in re.findall(r"`([^`]+)`", text):
        span = span.replace("…", "None").strip()
        for attempt in (span, span.rstrip(":") if span.endswith(":") else None, f"{span} pass" if span.endswith(":")
                        else None, f"try:\n    pass\n{span}"):
            if attempt is None:
                continue
            try:
                found.append(ast.parse(attempt))
                break
            except SyntaxError:
                continue
    return found


def _names_a_learner_has(exercise, function: str) -> set[str]:
    """Names a hint may use in a function: the stub's module names, builtins, the function's parameters, and
    the names its solution binds (which the learner will write)."""
    solution = ast.parse(exercises.solution_in(exercise))
    names = set(dir(builtins))
    for node in solution.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        if isinstance(node, ast.FunctionDef) and node.name == function:
            names |= {arg.arg for arg in ast.walk(node.args) if isinstance(arg, ast.arg)}
            names |= {name.id for name in ast.walk(node) if isinstance(name, ast.Name)}
            names |= {arg.arg for arg in ast.walk(node) if isinstance(arg, ast.arg)}
    return names


def hint_problems(exercise, hint: dict) -> list[str]:
    """What is wrong with one ladder: a name the learner's code lacks, another function's answer."""
    function, problems = hint["function"], []
    solution_words = set(re.findall(r"[A-Za-z_]\w*", exercise.solution_path.read_text(encoding="utf-8")))
    has = _names_a_learner_has(exercise, function)
    texts = [hint[rung][lang] for rung in exercises.HINT_RUNGS for lang in exercises.LANGS]
    trees = [tree for text in texts for tree in _code_spans(text)]
    trees.append(ast.parse(exercises.hint_code(exercise, function)))
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id not in has:
                problems.append(f"{function}: `{node.id}` is no name of the learner's code")
            words = [node.attr] if isinstance(node, ast.Attribute) else [node.arg] if isinstance(node, ast.keyword) \
                and node.arg else []
            problems += [f"{function}: `{word}` is not in the solution" for word in words if word not in solution_words]
    hinted = {ast.dump(node) for tree in trees for node in ast.walk(tree)}
    own = {ast.dump(node) for node in ast.walk(ast.parse(exercises.hint_code(exercise, function)))}

    def answers(code: str):
        """Each statement of a function's answer, and the expression it computes (`return x` gives x too)."""
        for statement in ast.walk(ast.parse(code)):
            if isinstance(statement, ast.stmt):
                yield statement
                if isinstance(getattr(statement, "value", None), ast.expr):
                    yield statement.value

    for other in exercise.hints:
        if other["function"] == function:
            continue
        for piece in answers(exercises.hint_code(exercise, other["function"])):
            # Code both functions share (the filters' last two lines) is this function's answer as well.
            if len(ast.unparse(piece)) >= 20 and ast.dump(piece) in hinted and ast.dump(piece) not in own:
                problems.append(f"{function}: gives away {other['function']}'s `{ast.unparse(piece)}`")
    return problems


@pytest.mark.parametrize("exercise", exercises.all_exercises(), ids=lambda e: e.slug)
def test_hints_are_one_ladder_per_function_and_give_away_nothing_else(exercise):
    functions = [hint["function"] for hint in exercise.hints]
    stub = exercises.stub_for(exercise)
    todo_functions = {node.name for node in ast.walk(ast.parse(stub)) if isinstance(node, ast.FunctionDef)
                      and "NotImplementedError" in ast.get_source_segment(stub, node)}
    if re.search(r"^[A-Z_]+ = None$", stub, re.M):
        todo_functions |= set(re.findall(r"^([A-Z_]+) = None$", stub, re.M))
    assert sorted(functions) == sorted(todo_functions), "one ladder for each function (or constant) to write"
    problems = [problem for hint in exercise.hints for problem in hint_problems(exercise, hint)]
    assert not problems, problems


def test_the_hint_rules_catch_what_issue_24_found():
    """Exercise 7's old first hint used `lv`, a name the stub lacks, and solved three functions at once."""
    evaluate = exercises.for_step("evaluate")
    old = {"function": "loss_per_token",
           "idea": {"fr": "…", "en": "…"},
           "pointer": {lang: "`-float(np.mean(lv))`, `math.exp(loss_per_token(log_likelihoods))`" for lang in
                       exercises.LANGS}}
    problems = hint_problems(evaluate, old)
    assert any("`lv` is no name" in problem for problem in problems)
    assert any("gives away perplexity's" in problem for problem in problems)


def _avoided_words() -> list[str]:
    """The glossary's « À ne pas écrire » column (course/glossary.fr.md)."""
    from aurore.web.workshop import course

    rows = (course.COURSE_DIR / "glossary.fr.md").read_text(encoding="utf-8").splitlines()
    words = []
    for row in rows:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if row.startswith("| **") and len(cells) == 4:
            words += [word.strip() for word in cells[2].split(",") if word.strip() not in ("", "—")]
    return words


def _french_everywhere():
    """French prose, the stubs' French comments and docstrings, and the French page messages."""
    from babel.messages.pofile import read_po

    yield from _french_prose()
    for exercise in exercises.all_exercises():
        yield f"exercise {exercise.number} (agenda, run page)", "\n".join(
            text["fr"] for text in (exercise.section, exercise.about, exercise.run_title))
        stub = exercises.stub_for(exercise, "fr")
        comments = [token.string for token in tokenize.generate_tokens(io.StringIO(stub).readline)
                    if token.type == tokenize.COMMENT]
        docs = [ast.get_docstring(node) or "" for node in ast.walk(ast.parse(stub))
                if isinstance(node, (ast.Module, ast.FunctionDef))]
        yield exercise.filename, "\n".join(comments + docs)
    with (paths.ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        for message in read_po(handle):
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            yield f"messages.po: {message.id!r:.40}", "\n".join(strings)


def test_one_word_per_concept_as_the_glossary_says():
    avoided = _avoided_words()
    assert {"preset", "page des écrivains", "spécialisation"} <= set(avoided)
    found = []
    for where, text in _french_everywhere():
        prose = re.sub(r"`[^`\n]*`", "", text)
        # Introductions (*token*), options, paths, tags, placeholders and calls are not prose.
        prose = re.sub(r"\(\*[^*]+\*\)|--[\w-]+|\w+/[\w/.]+|<[^>]+>|%\(\w+\)s|[\w.]+\([^()]*\)|[?&]\w+=\S*", "", prose)
        for word in avoided:
            if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", prose, re.IGNORECASE):
                found.append(f"{where}: « {word} »")
    assert not found, found


@pytest.mark.parametrize("step", ["train", "generate", "evaluate"])
def test_the_lessons_send_the_learner_to_their_model_beside_the_reference(step):
    lesson = exercises.for_step(step).lesson
    assert "[« Mon modèle contre la référence »](/generate#compare)" in lesson["fr"]
    assert "[“My model against the reference”](/generate#compare)" in lesson["en"]
