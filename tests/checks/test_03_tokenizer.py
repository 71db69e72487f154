"""Checks for exercise 3: specialise a tokenizer."""

import pytest

from aurore.corpus import tokenization
from aurore.course.checks.plugin import say

EXERCISE = 3

SENTENCES = [
    "Le laboureur revenait des champs, et ses bœufs marchaient devant lui.",
    "Madame, dit-il, la mare est noire et le brouillard monte du bois.",
    "Mademoiselle Marie chantait une chanson que sa mère lui avait apprise.",
] * 20


@pytest.fixture(scope="module")
def generic():
    return tokenization.generic_tokenizer()


@pytest.mark.check(fr="show_tokens découpe la phrase jeton par jeton",
                   en="show_tokens cuts the sentence token by token")
def test_show_tokens(exercise_module, generic):
    sentence = tokenization.EXAMPLE_SENTENCE
    pieces = exercise_module.show_tokens(generic, sentence)
    expected = len(generic(sentence)["input_ids"])
    assert isinstance(pieces, list) and len(pieces) == expected, say(
        fr=f"show_tokens devrait rendre une liste de {expected} morceaux (un par jeton), "
           f"elle a rendu : {pieces!r:.200}",
        en=f"show_tokens should return a list of {expected} pieces (one per token), it returned: {pieces!r:.200}")
    assert "".join(pieces) == sentence, say(
        fr=f"Mis bout à bout, les morceaux devraient redonner la phrase ; on obtient {''.join(pieces)!r}.",
        en=f"Put end to end, the pieces should give the sentence back; we get {''.join(pieces)!r}.")


@pytest.mark.check(fr="specialise apprend un vocabulaire sur les textes, de la taille demandée",
                   en="specialise learns a vocabulary on the texts, of the requested size")
def test_specialise(exercise_module, generic):
    specialised = exercise_module.specialise(generic, SENTENCES, 320)
    assert specialised is not None and hasattr(specialised, "encode"), say(
        fr="specialise doit renvoyer le nouveau tokenizer (celui que rend train_new_from_iterator).",
        en="specialise must return the new tokenizer (the one train_new_from_iterator returns).")
    assert len(specialised) <= 320 and specialised is not generic, say(
        fr=f"Le vocabulaire devrait compter au plus 320 jetons, il en a {len(specialised)} : "
           "passez vocab_size à train_new_from_iterator.",
        en=f"The vocabulary should hold at most 320 tokens, it has {len(specialised)}: "
           "pass vocab_size to train_new_from_iterator.")
    word = " Mademoiselle"
    before, after = len(generic(word)["input_ids"]), len(specialised(word)["input_ids"])
    assert after < before, say(
        fr=f"Après spécialisation, « Mademoiselle » devrait prendre moins de jetons ({after} contre {before}) : "
           "le tokenizer a-t-il bien appris sur les textes donnés ?",
        en=f"After specialising, \"Mademoiselle\" should take fewer tokens ({after} vs {before}): "
           "did the tokenizer learn from the given texts?")
    assert specialised.eos_token == tokenization.EOS, say(
        fr="Le tokenizer spécialisé a perdu le jeton <|endoftext|>.",
        en="The specialised tokenizer lost the <|endoftext|> token.")


@pytest.mark.check(fr="measure compte jetons par mot et caractères par jeton",
                   en="measure counts tokens per word and characters per token")
def test_measure(exercise_module, generic):
    texts = ["Bonjour Madame.", "Et vous ?"]
    tokens = sum(len(generic(t)["input_ids"]) for t in texts)
    result = exercise_module.measure(generic, texts)
    expected = {"tokens": tokens, "words": 5, "characters": 24}
    got = {key: result.get(key) for key in expected}
    assert got == expected, say(
        fr=f"Pour {texts!r}, on attend {expected}, votre fonction donne {got}.",
        en=f"For {texts!r}, we expect {expected}, your function gives {got}.")
    assert result["tokens_per_word"] == pytest.approx(tokens / 5, abs=1e-3), say(
        fr="tokens_per_word devrait valoir jetons / mots.", en="tokens_per_word should be tokens / words.")
