"""`python -m aurore attention`: exercise 4's attention beside Keras's, the mask visible, a TODO said clearly."""

import pytest

from aurore import cli


def test_the_solution_matches_keras_and_never_looks_ahead(capsys):
    assert cli.main(["attention"]) == 0
    out = "".join(capsys.readouterr())
    assert "Largest gap from keras.layers.MultiHeadAttention: 0.0000" in out
    assert "Weight on later words (the causal mask): 0.0000000." in out
    assert "Head 1, the word each word looks at most: La → La," in out     # the first word can only see itself
    assert "Head 2," in out


def test_the_learners_stub_stops_with_the_function_to_finish(tmp_path, monkeypatch, capsys):
    from aurore.course import exercises

    monkeypatch.setenv("AURORE_EXERCISES", str(tmp_path))
    (tmp_path / "04_attention.py").write_text(exercises.stub_for(exercises.get(4)), encoding="utf-8")
    assert cli.main(["attention", "--use", "exercise"]) == 2
    err = capsys.readouterr().err
    assert "Exercise 4 is not finished" in err and "check 4" in err


@pytest.mark.parametrize("broken, said", [
    ("    return output, weights\n", "    return output[:, 0], weights\n"),
])
def test_wrong_shapes_are_a_message_not_a_traceback(tmp_path, monkeypatch, capsys, broken, said):
    from aurore import paths

    monkeypatch.setenv("AURORE_EXERCISES", str(tmp_path))
    source = (paths.ROOT / "solutions" / "04_attention.py").read_text(encoding="utf-8")
    assert source.count(broken) == 1
    (tmp_path / "04_attention.py").write_text(source.replace(broken, said), encoding="utf-8")
    assert cli.main(["attention", "--use", "exercise"]) == 2
    assert "`multi_head_attention` returned shapes" in capsys.readouterr().err
