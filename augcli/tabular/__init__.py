"""Tables balanced by oversampling (imbalanced-learn): planned, checked and written as a whole.

Modules: oversample.py (the run: class counts, per-class methods, synthesis in batches),
checks.py (column roles and every input check: targets, missing and infinite values, encodings),
output.py (the output path, resume state, the summary, the evaluation, printing).
"""
from .oversample import run  # noqa: F401
