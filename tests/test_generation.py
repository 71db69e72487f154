"""Generation (aurore/generation/generator.py) on the tiny test model: seeds, streaming,
strategies, stops, batching, bad arguments, Unicode."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import pytest

from aurore import cli
from aurore.corpus.sentence_ends import find_sentence_end
from aurore.course import exercises
from aurore.errors import AuroreError
from aurore.generation.decoding import clean_text
from aurore.generation.generator import Generator, SamplingParams, TextAssembler
from aurore.store import modeldir
from tests.tiny_model import tiny_model_dir  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def generator(tiny_model_dir):  # noqa: F811
    return Generator.load(tiny_model_dir, exercises.rules("generate"))


def scripted(generator, text):
    """The same generator, whose loop yields the tokens of `text` (or these ids), then ends: exact stop tests."""
    ids = generator.tokenizer(text, add_special_tokens=False)["input_ids"] if isinstance(text, str) else text

    def decode(model, prompt_ids, params, rng, end_of_text_id):
        model.start(prompt_ids)
        yield from ids[:params.max_new_tokens]

    fake = Generator.__new__(Generator)
    fake.__dict__.update(generator.__dict__)
    fake.rules = SimpleNamespace(decode=decode)
    return fake


def test_same_seed_same_text_and_seeds_matter(generator):
    params = SamplingParams(max_new_tokens=30, strategy="top_p", temperature=1.0, seed=7)
    first = generator.generate("La nuit", params)
    assert generator.generate("La nuit", params).text == first.text
    assert first.seed == 7
    others = {generator.generate("La nuit", replace(params, seed=seed)).text for seed in range(5)}
    assert len(others) > 1, "five seeds gave the same text: the seed is ignored"


def test_unseeded_result_reports_a_seed_that_replays_it(generator):
    params = SamplingParams(max_new_tokens=20, strategy="top_k", temperature=1.2)
    result = generator.generate("Elle", params)
    assert generator.generate("Elle", replace(params, seed=result.seed)).text == result.text


@pytest.mark.parametrize("strategy", ["greedy", "top_k", "top_p"])
def test_streaming_gives_the_same_text_as_generate(generator, strategy):
    params = SamplingParams(max_new_tokens=40, strategy=strategy, temperature=1.3, seed=3)
    stream = generator.stream("Le vieux meunier", params)
    pieces = list(stream)
    result = generator.generate("Le vieux meunier", params)
    assert "".join(pieces) == result.text == stream.result.text
    assert all(pieces), "empty pieces are not yielded"
    assert stream.result.finish_reason == result.finish_reason
    assert stream.finish_reasons == [result.finish_reason]
    assert stream.new_tokens == [result.new_tokens]


def test_greedy_is_deterministic_whatever_the_seed(generator):
    texts = {generator.generate("Madame,", SamplingParams(max_new_tokens=25, strategy="greedy", seed=s)).text
             for s in (None, 1, 2)}
    assert len(texts) == 1


def test_top_k_of_one_is_greedy(generator):
    greedy = generator.generate("Il y avait", SamplingParams(max_new_tokens=25, strategy="greedy"))
    for seed in (0, 1):
        top1 = generator.generate("Il y avait", SamplingParams(max_new_tokens=25, strategy="top_k", top_k=1,
                                                               temperature=1.5, seed=seed))
        assert top1.text == greedy.text


def endless(generator):
    """The same generator with no end-of-text token: it writes until the limit."""
    fake = Generator.__new__(Generator)
    fake.__dict__.update(generator.__dict__)
    fake.end_of_text_id = -1
    return fake


def test_max_new_tokens_is_honoured(generator):
    for limit in (1, 5, 17):
        params = SamplingParams(max_new_tokens=limit, strategy="top_p", temperature=1.0, seed=1)
        result = generator.generate("La", params)
        assert 0 <= result.new_tokens <= limit
        assert result.finish_reason in ("length", "end_of_text")
        if result.finish_reason == "length":
            assert result.new_tokens == limit
        result = endless(generator).generate("La", params)
        assert (result.new_tokens, result.finish_reason) == (limit, "length")


def test_the_context_is_never_exceeded(generator):
    long_prompt = "Le vent soufflait dans les grands arbres du parc. " * 40
    result = endless(generator).generate(long_prompt, SamplingParams(max_new_tokens=500, strategy="greedy"))
    assert result.truncated_prompt_tokens > 0
    assert result.prompt_tokens + result.new_tokens <= generator.max_context
    assert result.finish_reason == "length"
    assert result.prompt_tokens >= generator.max_context // 2


def test_stream_batch_equals_one_by_one(generator):
    prompts = ["La nuit", "", "« Je ne sais pas ce que vous voulez dire », répondit-elle. Puis", "Il"]
    params = [SamplingParams(max_new_tokens=20, strategy="top_p", temperature=1.1, seed=1),
              SamplingParams(max_new_tokens=9, strategy="greedy"),
              SamplingParams(max_new_tokens=25, strategy="top_k", top_k=5, temperature=0.7, seed=2),
              SamplingParams(max_new_tokens=14, strategy="top_p", top_p=0.5, seed=3, stop=("e",))]
    batch = generator.stream_batch(prompts, params)
    texts = [""] * len(prompts)
    steps = 0
    for pieces in batch:
        assert len(pieces) == len(prompts)
        for i, piece in enumerate(pieces):
            texts[i] += piece
        steps += 1
    assert steps <= max(p.max_new_tokens for p in params)
    for i, (prompt, p) in enumerate(zip(prompts, params)):
        alone = generator.generate(prompt, p)
        assert texts[i] == alone.text == batch.results[i].text, f"row {i}"
        assert batch.results[i].finish_reason == alone.finish_reason
        assert batch.results[i].new_tokens == alone.new_tokens
    assert batch.finish_reasons == [r.finish_reason for r in batch.results]


def test_stream_batch_rows_stop_independently(generator):
    batch = generator.stream_batch(["Elle", "Elle"], [SamplingParams(max_new_tokens=2, strategy="greedy"),
                                                      SamplingParams(max_new_tokens=6, strategy="greedy")])
    seen = [pieces for pieces in batch]
    assert len(seen) <= 6
    assert all(step[0] == "" for step in seen[2:])
    assert batch.new_tokens[0] <= 2 and batch.new_tokens[1] <= 6
    assert batch.new_tokens[0] <= batch.new_tokens[1]


def test_xla_and_plain_graphs_write_the_same(tiny_model_dir):  # noqa: F811
    params = SamplingParams(max_new_tokens=15, strategy="top_k", seed=4)
    texts = {Generator.load(tiny_model_dir, exercises.rules("generate"), xla=xla).generate("Nous partirons", params).text
             for xla in (True, False)}
    assert len(texts) == 1


def test_cached_steps_match_the_backbones_own_forward_pass(generator):
    """The cached model calls the layers' sublayers itself: it must compute what the backbone does."""
    import numpy as np

    ids = [5, 17, 120, 42, 9, 77, 3, 250]
    backbone = generator.model.backbone
    full = backbone.token_embedding(backbone({"token_ids": np.array([ids], "int32"),
                                              "padding_mask": np.ones((1, len(ids)), "int32")}), reverse=True)
    full = np.asarray(full)[0]
    for rows in ([ids[:5]], [ids[:5], ids[:2]]):  # alone, and left-padded in a batch
        logits, state = generator.engine.prefill(rows)
        assert np.allclose(logits[0], full[4], atol=1e-4)
        for position in (5, 6, 7):
            logits = generator.engine.step(state, [ids[position]] * len(rows))
            assert np.allclose(logits[0], full[position], atol=1e-4)


def test_the_cache_holds_the_prompt_and_the_new_tokens_only(generator):
    """Attention reads every cache slot at every step: a cache sized to the need, bucketed, is what makes
    batches fast (bench/results/load.md); a step past its end is refused rather than silently clamped."""
    engine = generator.engine
    _, state = engine.prefill([[5] * 20, [7] * 3], new_tokens=10)
    assert state["length"] == 32  # prompt width 32 (bucket of 20) holds the 20 + 10 slots
    _, state = engine.prefill([[5] * 20, [7] * 3], new_tokens=40)
    assert state["length"] == 64
    for _ in range(64 - 20):
        engine.step(state, [1, 1])
    with pytest.raises(ValueError, match="cache is full"):
        engine.step(state, [1, 1])
    assert engine.prefill([[5] * 3])[1]["length"] == engine.max_context  # no count given: the most needed


def test_sort_descending_is_the_stable_order():
    """The exercise's fast sort must give exactly np.argsort(-logits, kind="stable"): same seed, same text."""
    import numpy as np

    from aurore.course import exercises

    rules = exercises.load_module(6, "solution")
    rng = np.random.default_rng(0)
    for trial in range(300):
        logits = rng.normal(size=int(rng.integers(1, 3000))).astype(np.float32)
        if trial % 3 == 0:
            logits = np.round(logits, 1)  # many ties
        if trial % 4 == 0:
            logits[rng.integers(0, logits.size, 3)] = rng.choice([-np.inf, 0.0, -0.0, np.nan])
        expected = np.argsort(-logits.astype(np.float64), kind="stable")
        assert np.array_equal(rules.sort_descending(logits), expected), trial
    assert list(rules.sort_descending([2.0, 5.0, 5.0, 1.0, 5.0])) == [1, 2, 4, 0, 3]


def test_interleaved_streams_do_not_mix(generator):
    params = SamplingParams(max_new_tokens=20, strategy="top_p", temperature=1.2, seed=5)
    alone = generator.generate("La nuit", params).text
    stream = generator.stream("La nuit", params)
    first = [next(stream) for _ in range(3)]
    generator.generate("Elle ouvrit la fenêtre", replace(params, seed=6))
    assert "".join(first + list(stream)) == alone


# -- stops, exact, with a scripted loop and the real tokenizer


def test_stop_at_sentence_end(generator):
    fake = scripted(generator, " Il partit. Elle resta seule dans la maison.")
    result = fake.generate("x", SamplingParams(max_new_tokens=50, stop_at_sentence_end=True))
    assert (result.text, result.finish_reason) == (" Il partit.", "sentence_end")
    without = fake.generate("x", SamplingParams(max_new_tokens=50))
    assert without.text == " Il partit. Elle resta seule dans la maison."
    assert without.finish_reason == "end_of_text"


def test_end_of_text_separates_sentences(generator):
    """Aurore's models see `<|endoftext|>` between sentences: it becomes a space, writing goes on."""
    eos = generator.tokenizer.eos_token_id
    def ids(text):
        return generator.tokenizer(text, add_special_tokens=False)["input_ids"]

    fake = scripted(generator, ids("Il partit.") + [eos] + ids("Elle resta.") + [eos] + ids("La"))
    result = fake.generate("x", SamplingParams(max_new_tokens=50))
    assert result.text == "Il partit. Elle resta. La"
    result = fake.generate("x", SamplingParams(max_new_tokens=50, stop_at_sentence_end=True))
    assert (result.text, result.finish_reason) == ("Il partit.", "sentence_end")
    assert generator._encode("Il partit. Elle") == [eos] + ids("Il partit.") + [eos] + ids("Elle")
    assert generator._encode("Il partit. ") == [eos] + ids("Il partit.") + [eos]
    assert generator._encode("") == [eos]


def test_prompts_are_cut_by_the_punkt_model_the_folder_carries(tiny_model_dir, tmp_path):  # noqa: F811
    """A model folder with the corpus's Punkt parameters cuts prompts with them, not by rule."""
    folder = tmp_path / "model"
    modeldir.copy(tiny_model_dir, folder)
    by_rule = Generator.load(folder, exercises.rules("generate"))
    parameters = {"format": 1, "abbrev_types": ["vte"], "collocations": [], "sent_starters": [], "ortho_context": {}}
    (folder / modeldir.SPLITTER_FILE).write_text(json.dumps(parameters), encoding="utf-8")
    by_punkt = Generator.load(folder, exercises.rules("generate"))
    eos = by_punkt.eos_id
    def ids(text):
        return by_punkt.tokenizer(text, add_special_tokens=False)["input_ids"]

    assert by_rule.prompt_splitter is None
    assert by_rule._encode("Le Vte. Raoul entra.") == [eos] + ids("Le Vte.") + [eos] + ids("Raoul entra.")
    assert by_punkt._encode("Le Vte. Raoul entra.") == [eos] + ids("Le Vte. Raoul entra.")
    assert by_punkt._encode("Il partit. Elle") == [eos] + ids("Il partit.") + [eos] + ids("Elle")
    (folder / modeldir.SPLITTER_FILE).write_text("{not json", encoding="utf-8")
    assert Generator.load(folder, exercises.rules("generate")).prompt_splitter is None  # damaged: the rules


def test_end_of_text_can_end_the_text(tiny_model_dir):  # noqa: F811
    plain = Generator.load(tiny_model_dir, exercises.rules("generate"), sentences_separated=False)
    eos = plain.tokenizer.eos_token_id
    assert plain.end_of_text_id == eos  # the exercise's loop stops on it
    assert plain._encode("Il partit. Elle") == plain.tokenizer("Il partit. Elle")["input_ids"]
    plain.rules = SimpleNamespace(choose_next_token=lambda logits, params, rng: eos)
    batch = plain.stream_batch(["Il"], [SamplingParams(max_new_tokens=5)])
    assert list(batch) == [[""]]
    assert (batch.results[0].finish_reason, batch.results[0].new_tokens) == ("end_of_text", 0)


def test_repeated_end_of_text_gives_one_space(generator):
    eos = generator.tokenizer.eos_token_id
    fake = scripted(generator, generator.tokenizer("Oui.")["input_ids"] + [eos, eos, eos])
    assert fake.generate("x", SamplingParams(max_new_tokens=50)).text == "Oui. "


@pytest.mark.parametrize("text, end", [
    ("Il partit. Elle resta.", "Il partit."),
    ("« Venez ! » dit-elle. Puis", "« Venez ! » dit-elle."),
    ("« Venez ! » Elle sortit.", "« Venez ! »"),
    ("M. Dupont arriva. Il", "M. Dupont arriva."),
    ("Quoi ? Vraiment", "Quoi ?"),
    ("Il attendit…\nLa", "Il attendit…"),
    ("Il partit. ", None),
    ("Il partit.", None),
    ("Il partit. et", None),
])
def test_find_sentence_end(text, end):
    found = find_sentence_end(text)
    assert (text[:found] if found is not None else None) == end


def test_stop_strings_cut_before_them_and_are_never_streamed(generator):
    fake = scripted(generator, " Il partit. Elle resta seule.")
    stream = fake.stream("x", SamplingParams(max_new_tokens=50, stop=("Elle r", "zzz")))
    pieces = list(stream)
    assert "".join(pieces) == " Il partit. "
    assert stream.result.finish_reason == "stop"
    assert not any("Elle" in piece for piece in pieces)


def test_a_stop_string_prefix_at_the_end_is_flushed(generator):
    fake = scripted(generator, " Il partit. Ell")
    result = fake.generate("x", SamplingParams(max_new_tokens=50, stop=("Elle r",)))
    assert (result.text, result.finish_reason) == (" Il partit. Ell", "end_of_text")


def test_pieces_never_split_a_character(generator):
    text = " 🌙 été — « נוּר » مرحبا 👩‍👩‍👧 ﬁn"
    fake = scripted(generator, text)
    ids = generator.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) > len(text) / 2  # the tiny tokenizer splits these characters into bytes
    pieces = list(fake.stream("x", SamplingParams(max_new_tokens=200)))
    assert "".join(pieces) == text
    assert not any("\ufffd" in piece for piece in pieces)


def test_incomplete_character_at_the_end_is_dropped():
    class Bytes:
        def decode(self, ids, **kwargs):
            return bytes(ids).decode("utf-8", errors="replace")

    assembler = TextAssembler(Bytes())
    pieces = [assembler.add(b)[0] for b in "é🌙".encode()[:-1]]
    assert pieces == ["", "é", "", "", ""]
    assert assembler.finish() == ""


@pytest.mark.parametrize("prompt", ["", "🌙🌙🌙", "שלום עולם", "مرحبا بالعالم", "a\x00b\x00", "\ud800x",
                                    "e\u0301\u200d\ufeff", "\n\n\t", "x" * 20000])
def test_any_unicode_prompt_is_handled(generator, prompt):
    result = generator.generate(prompt, SamplingParams(max_new_tokens=5, seed=0))
    assert 0 <= result.new_tokens <= 5
    assert result.prompt_tokens >= 1
    count = generator.count_tokens(prompt)
    assert (count == 0) == (clean_text(prompt) == "")          # nothing left once cleaned: no token
    assert count <= len(clean_text(prompt).encode("utf-8"))      # byte-level BPE: at most a token per byte
    assert (result.truncated_prompt_tokens > 0) == (count > generator.max_context)    # only the 20,000 x


# -- bad arguments


@pytest.mark.parametrize("fields, named", [
    ({"temperature": 0}, "temperature"), ({"temperature": -1.0}, "temperature"),
    ({"temperature": float("nan")}, "temperature"), ({"top_p": 0}, "top_p"), ({"top_p": 1.5}, "top_p"),
    ({"top_p": -0.1}, "top_p"), ({"top_k": 0}, "top_k"), ({"top_k": 2.5}, "top_k"),
    ({"max_new_tokens": 0}, "max_new_tokens"), ({"max_new_tokens": 10**9}, "max_new_tokens"),
    ({"max_new_tokens": "10"}, "max_new_tokens"), ({"strategy": "beam"}, "strategy"), ({"seed": -1}, "seed"),
    ({"seed": True}, "seed"), ({"stop": ("",)}, "stop"), ({"stop": (1,)}, "stop"), ({"stop": ["a"] * 9}, "stop"),
    ({"stop_at_sentence_end": "yes"}, "stop_at_sentence_end"),
])
def test_bad_sampling_params_are_refused_with_a_clear_message(fields, named):
    with pytest.raises(AuroreError, match=named):
        SamplingParams(**fields)


def test_good_params_are_normalised():
    assert SamplingParams(stop=["\n\n", "FIN"]).stop == ("\n\n", "FIN")
    assert SamplingParams(stop="FIN").stop == ("FIN",)
    assert SamplingParams(temperature=1).temperature == 1


def test_missing_or_broken_model_directory(tmp_path):
    with pytest.raises(AuroreError, match="train"):
        Generator.load(tmp_path / "nothing", exercises.rules("generate"))
    (tmp_path / "half").mkdir()
    with pytest.raises(AuroreError, match="train"):
        Generator.load(tmp_path / "half", exercises.rules("generate"))


def test_bad_prompt_and_batch_arguments(generator):
    with pytest.raises(AuroreError, match="prompt"):
        generator.generate(None, SamplingParams())
    with pytest.raises(AuroreError):
        generator.stream_batch([], [])
    with pytest.raises(AuroreError):
        generator.stream_batch(["a", "b"], [SamplingParams()])


def test_an_unfinished_exercise_gives_a_clear_error(tiny_model_dir, tmp_path, monkeypatch):  # noqa: F811
    from aurore.course import exercises

    (tmp_path / "06_generate.py").write_text(exercises.stub_for(exercises.get(6)), encoding="utf-8")
    monkeypatch.setenv("AURORE_EXERCISES", str(tmp_path))
    learner = Generator.load(tiny_model_dir, exercises.rules("generate", "exercise"))
    with pytest.raises(AuroreError, match="check 6"):
        learner.generate("Il", SamplingParams(max_new_tokens=3))


# -- the command line


def test_cli_streams_the_text(tiny_model_dir, capsys):  # noqa: F811
    code = cli.main(["generate", "--model", str(tiny_model_dir), "--prompt", "La nuit", "--max-new-tokens", "8",
                     "--strategy", "greedy"])
    out, err = capsys.readouterr()
    assert code == 0
    solution = exercises.rules("generate")
    expected = Generator.load(tiny_model_dir, solution).generate("La nuit", SamplingParams(max_new_tokens=8,
                                                                                           strategy="greedy"))
    assert out == "La nuit" + expected.text + "\n"
    assert "8 tokens" in err


def test_cli_errors_are_messages(tmp_path, capsys):
    assert cli.main(["generate", "--model", str(tmp_path / "none"), "--prompt", "x"]) == 2
    assert "python -m aurore train" in capsys.readouterr().err
    assert cli.main(["generate", "--model", str(tmp_path), "--top-p", "2"]) == 2
    assert "top_p" in capsys.readouterr().err


def test_bytes_that_never_make_a_character_are_dropped_mid_text():
    class Bytes:
        def decode(self, ids, **kwargs):
            return bytes(ids).decode("utf-8", errors="replace")

    assembler = TextAssembler(Bytes())
    raw = b"nuit \xc3 douce \xe2\x82 et \xe2\x82\xac"  # two broken characters, then a whole "€"
    text = "".join(assembler.add(b)[0] for b in raw) + assembler.finish()
    assert text == "nuit  douce  et €"
