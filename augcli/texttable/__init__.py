"""Text augmentation of a table (CSV, TSV, JSONL): streamed in chunks, on the runner's executor.

1. One streaming pass in the parent checks the file (encoding, columns, one line-numbered error)
   and notes every record's label and where each chunk of CHUNK records starts (byte offset).
   Memory: a few bytes per record (label code, split, copies), never the text.
2. Plan: the stratified val split and the copies per record (balance) as in the file engine;
   a copy's seed is a hash of (run seed, record index, copy number).
3. Workers each read their chunk from its offset and write its part files (originals,
   augmented rows, val rows, manifest rows) atomically into OUTPUT/.augcli/parts/; a finished
   chunk has a `.json` marker, so an interrupted run resumes with the chunks left.
4. The parent joins the parts in chunk order into OUTPUT/train.<ext> (originals first, then the
   augmented rows) and OUTPUT/val.<ext>, then writes manifest.csv, each atomically.

Output rows = the input's columns unchanged, the text column replaced for augmented rows, plus
`aug_of` (the source record's id column value, or its 0-based index) and `ops` (JSON).


Modules: plan.py (the reading pass and the draws), chunks.py (a worker's chunk), join.py (the
parts joined into the output), work.py (resume / collect / finish for the one runner).
"""
from .chunks import init_chunks, run_chunk  # noqa: F401
from .plan import ADDED, CHUNK, TablePlan, index, plan_table  # noqa: F401
from .work import TableWork  # noqa: F401
