"""[fr] Exercice 3 : spécialiser un tokenizer sur les livres de George Sand.

Un modèle de langue lit des nombres, pas des lettres : un *tokenizer* découpe le
texte en morceaux (les jetons) et donne un numéro à chacun. GPT-2 utilise le BPE au
niveau des octets : il part des 256 octets et apprend des *fusions* des paires les
plus fréquentes. Un tokenizer générique a appris ses fusions sur du texte courant ;
le français de George Sand ("mademoiselle", "cœur", "Consuelo"…) mérite les siennes.

Lancez-le : `python -m aurore tokenizer` (ou `--use exercise` pour votre code).
[en] Exercise 3: specialise a tokenizer on George Sand's books.

A language model reads numbers, not letters: a *tokenizer* cuts the text into
pieces (tokens) and gives each one a number. GPT-2 uses byte-level BPE: it
starts from the 256 bytes and learns *merges* of the most frequent pairs. A
generic tokenizer learned its merges on everyday text; George Sand's French
("mademoiselle", "cœur", "Consuelo"…) deserves merges of its own.

Run it: `python -m aurore tokenizer` (or `--use exercise` for your code).
"""

from __future__ import annotations

from aurore.corpus.tokenization import in_batches


def show_tokens(tokenizer, sentence: str) -> list[str]:
    """[fr] La phrase découpée jeton par jeton, chaque jeton en texte lisible.

    Exemple : "Bonjour Madame" → ["Bon", "jour", " Mad", "ame"].
    [en] The sentence cut token by token, each token as readable text.

    Example: "Bonjour Madame" → ["Bon", "jour", " Mad", "ame"].
    """
    # BEGIN SOLUTION
    # [fr] TODO: encodez la phrase en numéros (tokenizer(sentence)["input_ids"]), puis décodez
    # [fr] chaque numéro seul (tokenizer.decode([token_id])).
    # [en] TODO: encode the sentence into ids (tokenizer(sentence)["input_ids"]), then decode
    # [en] each id on its own (tokenizer.decode([token_id])).
    ids = tokenizer(sentence)["input_ids"]
    return [tokenizer.decode([token_id]) for token_id in ids]
    # END SOLUTION


def specialise(generic, texts, vocab_size: int):
    """[fr] Un nouveau tokenizer aux règles du générique, ses fusions apprises sur `texts`.
    [en] A new tokenizer with the generic one's rules, its merges learned on `texts`."""
    # BEGIN SOLUTION
    # [fr] TODO: appelez generic.train_new_from_iterator avec les textes par paquets
    # [fr] (in_batches(texts), déjà importée) et la taille de vocabulaire (vocab_size=vocab_size).
    # [en] TODO: call generic.train_new_from_iterator with the texts in batches
    # [en] (in_batches(texts), imported above) and the vocabulary size (vocab_size=vocab_size).
    return generic.train_new_from_iterator(in_batches(texts), vocab_size=vocab_size, show_progress=False)
    # END SOLUTION


def measure(tokenizer, texts) -> dict:
    """[fr] La finesse du découpage : jetons par mot et caractères par jeton.

    Les mots sont les morceaux entre les espaces (`text.split()`) ; les caractères
    comptent chaque caractère des textes, espaces compris.
    [en] How finely the tokenizer cuts: tokens per word and characters per token.

    Words are the pieces between spaces (`text.split()`); characters count
    every character of the texts, spaces included.
    """
    # BEGIN SOLUTION
    # [fr] TODO: comptez les jetons (tokens), les mots (words) et les caractères (characters) de tous les textes.
    # [en] TODO: count the tokens, the words and the characters of all the texts.
    tokens = words = characters = 0
    for ids, text in zip(tokenizer(list(texts))["input_ids"], texts):
        tokens += len(ids)
        words += len(text.split())
        characters += len(text)
    # END SOLUTION
    return {
        "tokens": tokens,
        "words": words,
        "characters": characters,
        "tokens_per_word": round(tokens / max(words, 1), 4),
        "characters_per_token": round(characters / max(tokens, 1), 4),
    }
