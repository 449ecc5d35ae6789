"""Build the text sample data and the text benchmark corpus from WordNet 3.0's usage examples
(Debian package `wordnet-base`; licence: augcli/data/WORDNET-LICENSE).

    python tools/make_text_corpus.py [/usr/share/wordnet]

- sample_data/text/examples.csv: 60 example sentences, labelled with the part of speech of the
  word they illustrate (noun, verb, adj, adv), 15 of each; columns id, text, label, headword.
- benchmarks/data/wordnet_examples.txt.gz: every usage example of 6 words or more, one per line.
"""
import csv
import gzip
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def examples(wn: Path):
    for pos, label in (("noun", "noun"), ("verb", "verb"), ("adj", "adj"), ("adv", "adv")):
        for line in open(wn / f"data.{pos}", encoding="latin-1"):
            if line.startswith("  ") or "| " not in line:
                continue
            head = line.split(" ")[4].replace("_", " ")
            gloss = line.split("| ", 1)[1].strip()
            for q in re.findall(r'"([^"]+)"', gloss):
                q = q.strip()
                if len(q.split()) >= 6:
                    yield label, head, q


def main(wn: Path) -> None:
    allx = list(examples(wn))
    out = ROOT / "benchmarks" / "data" / "wordnet_examples.txt.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(out, "wb", compresslevel=9, mtime=0) as g:
        g.write("".join(q + "\n" for _, _, q in allx).encode("utf-8"))
    rng = random.Random(7)
    rows = []
    for label in ("noun", "verb", "adj", "adv"):
        pick = rng.sample([x for x in allx if x[0] == label and len(x[2].split()) >= 8], 15)
        rows += pick
    rng.shuffle(rows)
    dst = ROOT / "sample_data" / "text" / "examples.csv"
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "text", "label", "headword"])
        for i, (label, head, q) in enumerate(rows):
            w.writerow([f"wn{i:03d}", q, label, head])
    print(f"{out}: {len(allx)} sentences; {dst}: {len(rows)} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet"))
