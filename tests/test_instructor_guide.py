"""docs/instructor.md quotes the checks' own messages and the figures file's own table: neither can drift."""

from __future__ import annotations

import ast
import re

import pytest

from aurore import paths
from aurore.course import figures

GUIDE = paths.ROOT / "docs" / "instructor.md"


def _template(node: ast.AST) -> str | None:
    """A message as written in a check: literal text, each `{value}` as "…"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "…" for part in node.values)
    return None


def check_messages(lang: str) -> set[str]:
    """Every message (and check title) the exercises' checks give in `lang`."""
    found = set()
    for path in sorted((paths.ROOT / "tests" / "checks").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == lang and (text := _template(keyword.value)) is not None:
                        found.add(text)
    return found


def quoted_messages(lang: str) -> list[str]:
    """The third column of the guide's mistakes table in `lang`."""
    text = GUIDE.read_text(encoding="utf-8")
    table = text.split(f"<!-- mistakes:{lang} -->")[1].split(f"<!-- /mistakes:{lang} -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| ---")][1:]
    return [row.rstrip(" |").split(" | ", 2)[2] for row in rows]


def quotes(message: str, template: str) -> bool:
    """Whether the guide's `message` is `template`, with "…" where the learner's values go."""
    pattern = "(?:.|\n)*?".join(re.escape(piece) for piece in message.split("…"))
    return re.fullmatch(pattern, template) is not None


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_guide_quotes_the_checks_messages_exactly(lang):
    templates = check_messages(lang)
    messages = quoted_messages(lang)
    assert len(messages) >= 30, "three mistakes for each of the ten exercises"
    missing = [message for message in messages if not any(quotes(message, t) for t in templates)]
    assert not missing, f"messages the checks ({lang}) no longer give: {missing}"


def test_a_reworded_message_is_caught():
    templates = check_messages("fr")
    assert not any(quotes("La même graine doit donner le même jeton ; tirez avec np.random.", t) for t in templates)


def test_the_guides_figures_table_is_the_figures_file():
    text = GUIDE.read_text(encoding="utf-8")
    block = text.split(figures.DOCS_BEGIN)[1].split(figures.DOCS_END)[0].strip()
    assert block == figures.docs_table(), ("docs/instructor.md's figures table is stale: run "
                                           "`python -c 'from aurore.course import figures; figures.refresh_docs()'`")


def test_recording_a_figure_rewrites_the_guides_table(tmp_path):
    guide = tmp_path / "guide.md"
    guide.write_text(f"# Guide\n\n{figures.DOCS_BEGIN}\nold\n{figures.DOCS_END}\n\nafter\n", encoding="utf-8")
    known = {"gpt2.15min.bpc": {"what": "bits", "value": 1.5, "decimals": 2, "date": "2026-12-07",
                                "command": "bench/quality.py", "machine": {"cpu": "X", "cores": 2, "simd": "AVX2"}}}
    assert figures.refresh_docs(guide, known)
    text = guide.read_text(encoding="utf-8")
    assert "| `gpt2.15min.bpc` | 1.50 | bits | X, 2 cores, AVX2 | 2026-12-07 |" in text and "old" not in text
    assert text.endswith("\n\nafter\n")
