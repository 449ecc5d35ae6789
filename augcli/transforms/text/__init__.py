"""Text steps (EDA and more), rule-based and offline.

A text is split into whitespace-separated tokens; the whitespace between them is kept as it was,
so an edit never disturbs the rest of the text. A token's "core" is the token without leading
and trailing punctuation: synonyms replace the core only, with the original's capitalisation.
Tokens that are protected (numbers and anything with a digit, URLs, e-mail addresses,
@mentions, #hashtags, and the user's `protect` patterns) are never altered, moved or deleted;
stop words are never replaced nor used as insertion seeds.

    rng.py       PyRng: SplitMix64 in plain Python, the text steps' random stream
    lexicon.py   stop words, the synonym lexicon (shipped WordNet synonyms, a user's TSV), keyboard
    doc.py       Doc: a text being edited (tokens, whitespace, protected tokens); TextContext
    steps.py     synonym_replace, random_insert, random_swap, random_delete, word_shuffle,
                 sentence_shuffle, char_noise
    plugins.py   back_translation, paraphrase: a user's local model folder (no model ships)
    backends.py  which library runs that folder (CTranslate2 / Argos Translate, or your loader)
    vectors.py   word_embedding_replace: nearest neighbours in a local word-vectors file
    pipeline.py  the registry (STEPS, validate_steps), one_of and the eda preset, Pipeline,
                 unique_copy

Every step follows the contract of transforms/base.py: `sample(rng, TextContext) -> params` (the
edits, which the manifest records), then `apply(doc, params)`, pure.
"""
from .doc import Doc, TextContext, recase  # noqa: F401
from .lexicon import KEYBOARD, LEXICON, STOP_WORDS, Lexicon, read_user_lexicon  # noqa: F401
from .pipeline import ALIASES, EDA, OPS_JSON, STEPS, OneOf, Pipeline, make_step, unique_copy, validate_steps  # noqa: F401
from .plugins import BackTranslation, Paraphrase  # noqa: F401
from .rng import PyRng  # noqa: F401
from .steps import (CharNoise, RandomDelete, RandomInsert, RandomSwap, SentenceShuffle, SynonymReplace,  # noqa: F401
                    TextStep, WordShuffle)
from .vectors import WordEmbeddingReplace  # noqa: F401
