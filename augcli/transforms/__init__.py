"""Transforms per modality. Importing this package imports no heavy library.

    base.py    the step contract (every step of every modality), Param, one_of, fire
    mix.py     mixup / cutmix: their draws while planning, partners, soft labels
    image/     image steps by family (geometric, colour, pixel, mixing, planar) and the fusing pipeline
    audio.py   audio steps and their pipeline (time_stretch + pitch_shift fused into one pass)
    text/      text steps (EDA and more), their rng, lexicon, tokens and pipeline
"""
