"""Exercice 3 : spécialiser un tokenizer sur les livres de George Sand.

Un modèle de langue lit des nombres, pas des lettres : un *tokenizer* découpe le
texte en morceaux (les jetons) et donne un numéro à chacun. GPT-2 utilise le BPE au
niveau des octets : il part des 256 octets et apprend des *fusions* des paires les
plus fréquentes. Un tokenizer générique a appris ses fusions sur du texte courant ;
le français de George Sand ("mademoiselle", "cœur", "Consuelo"…) mérite les siennes.

Lancez-le : `python -m aurore tokenizer` (ou `--use exercise` pour votre code).
"""

from __future__ import annotations

from aurore.corpus.tokenization import in_batches


def show_tokens(tokenizer, sentence: str) -> list[str]:
    """La phrase découpée jeton par jeton, chaque jeton en texte lisible.

    Exemple : "Bonjour Madame" → ["Bon", "jour", " Mad", "ame"].
    """
    # TODO: encodez la phrase en numéros (tokenizer(sentence)["input_ids"]), puis décodez
    # chaque numéro seul (tokenizer.decode([token_id])).
    raise NotImplementedError("TODO")


def specialise(generic, texts, vocab_size: int):
    """Un nouveau tokenizer aux règles du générique, ses fusions apprises sur `texts`."""
    # TODO: appelez generic.train_new_from_iterator avec les textes par paquets
    # (in_batches(texts), déjà importée) et la taille de vocabulaire (vocab_size=vocab_size).
    raise NotImplementedError("TODO")


def measure(tokenizer, texts) -> dict:
    """La finesse du découpage : jetons par mot et caractères par jeton.

    Les mots sont les morceaux entre les espaces (`text.split()`) ; les caractères
    comptent chaque caractère des textes, espaces compris.
    """
    # TODO: comptez les jetons (tokens), les mots (words) et les caractères (characters) de tous les textes.
    raise NotImplementedError("TODO")
    return {
        "tokens": tokens,
        "words": words,
        "characters": characters,
        "tokens_per_word": round(tokens / max(words, 1), 4),
        "characters_per_token": round(characters / max(tokens, 1), 4),
    }
