"""Build augcli/data/synonyms.tsv.gz, the English synonym lexicon shipped with augcli, from the
WordNet 3.0 database files (Debian package `wordnet-base`: /usr/share/wordnet).

    apt-get install wordnet-base && python tools/build_lexicon.py [/usr/share/wordnet]

For every lemma of index.{noun,verb,adj,adv} the synonyms are the other lemmas of its synsets,
taken from the SENSES most frequent senses of each part of speech (WordNet's sense order): rare
senses give replacements that change the meaning ("mail" -> "ring armour"). Lines: `word<TAB>syn1|syn2|...` (lower case, multi-word synonyms with spaces).
WordNet's licence (augcli/data/WORDNET-LICENSE) allows redistribution with its notice.
"""
import gzip
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "augcli" / "data" / "synonyms.tsv.gz"
MAX_SYNONYMS = 24
SENSES = 3  # synonyms come from the first (most frequent) senses of each part of speech only
WORD = re.compile(r"^[a-z][a-z'-]*$")


def synsets(wn: Path, pos: str) -> dict[int, list[str]]:
    out = {}
    for line in open(wn / f"data.{pos}", encoding="latin-1"):
        if line.startswith("  "):
            continue  # licence header
        f = line.split(" ")
        n = int(f[3], 16)
        words = [re.sub(r"\(.*\)$", "", f[4 + 2 * i]).replace("_", " ") for i in range(n)]
        out[int(f[0])] = [w for w in words if w == w.lower()]  # capitalised lemmas are proper names
    return out


def main(wn: Path) -> None:
    lex: dict[str, list[str]] = {}
    for pos in ("noun", "verb", "adj", "adv"):
        sets = synsets(wn, pos)
        for line in open(wn / f"index.{pos}", encoding="latin-1"):
            if line.startswith("  "):
                continue
            f = line.split()
            lemma = f[0].replace("_", " ").lower()
            if not WORD.match(lemma):
                continue
            n_synsets, n_ptr = int(f[2]), int(f[3])
            offsets = [int(x) for x in f[4 + n_ptr + 2: 4 + n_ptr + 2 + n_synsets]]
            syns = lex.setdefault(lemma, [])
            for off in offsets[:SENSES]:
                for s in sets[off]:
                    if s != lemma and s not in syns and len(s.split()) <= 3:
                        syns.append(s)
    lines = [f"{w}\t{'|'.join(s[:MAX_SYNONYMS])}\n" for w, s in sorted(lex.items()) if s]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT, "wb", compresslevel=9, mtime=0) as g:
        g.write("".join(lines).encode("utf-8"))
    print(f"{OUT}: {len(lines)} words, {OUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet"))
