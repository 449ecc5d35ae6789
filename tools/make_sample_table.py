"""Build sample_data/tabular/wine.csv from the UCI Wine data as shipped with scikit-learn
(sklearn/datasets/data/wine_data.csv): 13 chemical measurements of wines from three cultivars.
To show imbalance, all rows of cultivars 1 and 2 and a seeded random 14 of cultivar 3's 48 are kept.

    python tools/make_sample_table.py
"""
import csv
import random
from importlib import resources
from pathlib import Path

COLUMNS = ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
           "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280_od315", "proline"]


def main():
    text = resources.files("sklearn.datasets").joinpath("data/wine_data.csv").read_text()
    rows = list(csv.reader(text.splitlines()))[1:]
    by = {}
    for r in rows:
        by.setdefault(r[-1], []).append(r)
    keep = by["0"] + by["1"] + random.Random(3).sample(by["2"], 14)
    keep.sort(key=rows.index)
    out = Path(__file__).resolve().parent.parent / "sample_data" / "tabular" / "wine.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS + ["cultivar"])
        for r in keep:
            vals = [str(int(float(v))) if c in ("magnesium", "proline") else v for c, v in zip(COLUMNS, r[:-1])]
            w.writerow(vals + [f"cultivar_{int(r[-1]) + 1}"])
    print(f"{out}: {len(keep)} rows")


if __name__ == "__main__":
    main()
