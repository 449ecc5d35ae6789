"""Tabular oversampling: counts, SMOTE's geometry, types and original rows."""
import csv
import json
from pathlib import Path

import numpy as np
from conftest import run_cli


def write(path: Path, header, rows, delim=","):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter=delim)
        w.writerow(header)
        w.writerows(rows)
    return path


def read(path: Path, delim=","):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter=delim))


def numeric_table(path, n_major=300, n_minor=30, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_major + n_minor):
        minor = i % ((n_major + n_minor) // n_minor) == 0 and sum(r[-1] == "yes" for r in rows) < n_minor
        rows.append([round(float(rng.normal(3 if minor else 0)), 4), round(float(rng.normal()), 4),
                     int(rng.integers(0, 50)), "yes" if minor else "no"])
    return write(path, ["a", "b", "count", "y"], rows)


def test_smote_counts_are_exact_and_synthetic_rows_lie_between_same_class_neighbours(tmp_path):
    src = numeric_table(tmp_path / "t.csv")
    out = tmp_path / "o.csv"
    run_cli("tabular", src, out, "--target", "y", "--seed", "3", "--k-neighbors", "5", check=0)
    rows = read(out)
    orig = [r for r in rows if r["_synthetic"] == "0"]
    syn = [r for r in rows if r["_synthetic"] == "1"]
    n_no = sum(r["y"] == "no" for r in orig)
    assert sum(r["y"] == "yes" for r in rows) == n_no  # balanced exactly
    assert all(r["y"] == "yes" for r in syn)
    # k nearest neighbours (same class) of every minority row, on the numeric features used
    feats = np.array([[float(r["a"]), float(r["b"]), float(r["count"])] for r in orig if r["y"] == "yes"])
    d = np.linalg.norm(feats[:, None] - feats[None], axis=2)
    nn = np.argsort(d, axis=1)[:, 1:6]
    for r in syn:
        s = np.array([float(r["a"]), float(r["b"]), float(r["count"])])
        ok = False
        for i in range(len(feats)):
            for j in nn[i]:
                seg = feats[j] - feats[i]
                t = np.dot(s[:2] - feats[i, :2], seg[:2]) / max(np.dot(seg[:2], seg[:2]), 1e-12)
                if -1e-6 <= t <= 1 + 1e-6 and np.allclose(feats[i, :2] + t * seg[:2], s[:2], atol=1e-6):
                    ok = True
                    break
            if ok:
                break
        assert ok, f"synthetic row {r} is not on a segment between same-class neighbours"
        assert r["count"].lstrip("-").isdigit()  # integers stay integers


def test_original_rows_are_byte_identical_and_same_seed_same_bytes(tmp_path):
    src = tmp_path / "t.csv"
    src.write_bytes(b'name,x,cat,y\r\n"Smith, J.",1.50,a,no\r\nplain,2.0,"b ""q""",no\r\n'
                    b'"multi\r\nline",3.25,a,yes\r\nz,4e-3,b,yes\r\nw,5,a,no\r\nv,6,b,no\r\n')
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    run_cli("tabular", src, a, "--target", "y", "--exclude", "name", "--k-neighbors", "1", "--seed", "1", check=0)
    run_cli("tabular", src, b, "--target", "y", "--exclude", "name", "--k-neighbors", "1", "--seed", "1",
            "--workers", "1", check=0)
    assert a.read_bytes() == b.read_bytes()
    out = a.read_bytes()
    lines = src.read_bytes().split(b"\r\n")
    expected = lines[0] + b",_synthetic\r\n" + b"".join(
        l + b",0\r\n" for l in b"\r\n".join(lines[1:]).replace(b'"multi\r\nline"', b"MULTI").split(b"\r\n") if l)
    expected = expected.replace(b"MULTI", b'"multi\r\nline"')
    assert out.startswith(expected)
    syn = [r for r in read(a) if r["_synthetic"] == "1"]
    assert len(syn) == 2 and all(r["name"] == "" and r["cat"] in ("a", "b", 'b "q"') for r in syn)
    run_cli("tabular", src, tmp_path / "n.csv", "--target", "y", "--exclude", "name", "--no-flag",
            "--k-neighbors", "1", check=0)
    assert (tmp_path / "n.csv").read_bytes().startswith(src.read_bytes())


def test_categorical_values_are_existing_categories_and_bools_keep_their_spelling(tmp_path):
    rng = np.random.default_rng(0)
    rows = [[round(float(rng.normal()), 3), str(rng.choice(["red", "green", "blue"])), str(rng.choice(["True", "False"])),
             "rare" if i % 8 == 0 else "common"] for i in range(160)]
    src = write(tmp_path / "t.csv", ["x", "color", "ok", "label"], rows)
    out = tmp_path / "o.csv"
    p = run_cli("tabular", src, out, "--target", "label", check=0)
    assert "smotenc" in p.stdout
    syn = [r for r in read(out) if r["_synthetic"] == "1"]
    assert len(syn) == 140 - 20
    assert {r["color"] for r in syn} <= {"red", "green", "blue"} and {r["ok"] for r in syn} <= {"True", "False"}
    summary = json.loads((tmp_path / "o.csv.summary.json").read_text())
    assert summary["classes"][1]["after"] == 140 and summary["columns"]["categorical"] == ["color", "ok"]


def test_strategies_random_noise_tsv_and_parquet(tmp_path):
    src = numeric_table(tmp_path / "t.csv")
    out = tmp_path / "s.csv"
    run_cli("tabular", src, out, "--target", "y", "--strategy", '{"yes": 100}', check=0)
    assert sum(r["y"] == "yes" for r in read(out)) == 100
    run_cli("tabular", src, out, "--target", "y", "--strategy", "0.5", "--method", "random", "--overwrite", check=0)
    assert sum(r["y"] == "yes" for r in read(out)) == 150
    run_cli("tabular", src, out, "--target", "y", "--method", "noise", "--copies", "2", "--overwrite", check=0)
    assert len(read(out)) == 330 * 3
    run_cli("tabular", src, tmp_path / "x.parquet", "--target", "y", "--format", "parquet", check=0)
    import pyarrow.parquet as pq

    t = pq.read_table(tmp_path / "x.parquet")
    assert t.num_rows == 600 and str(t.schema.field("count").type) == "int64"
    tsv = tmp_path / "t.tsv"
    tsv.write_text(src.read_text().replace(",", "\t"))
    run_cli("tabular", tsv, tmp_path / "o.tsv", "--target", "y", check=0)
    assert len(read(tmp_path / "o.tsv", "\t")) == 600
    run_cli("tabular", tmp_path / "x.parquet", tmp_path / "y.parquet", "--target", "y", "--no-flag",
            "--strategy", "all", check=0)


def test_clear_messages_for_bad_tables(tmp_path):
    src = numeric_table(tmp_path / "t.csv")
    text = src.read_text().splitlines()
    nan = tmp_path / "nan.csv"
    nan.write_text("\n".join(text[:5] + [",".join(["", "1", "2", "yes"])] + text[5:]) + "\n")
    p = run_cli("tabular", nan, tmp_path / "o1.csv", "--target", "y", check=2)
    assert "missing values in a (1)" in p.stderr and "--impute" in p.stderr
    run_cli("tabular", nan, tmp_path / "o1.csv", "--target", "y", "--impute", "median", check=0)
    strcol = write(tmp_path / "s.csv", ["x", "word", "y"], [[i, f"w{i % 3}", "a" if i % 5 else "b"] for i in range(40)])
    p = run_cli("tabular", strcol, tmp_path / "o2.csv", "--target", "y", "--method", "smote", check=2)
    assert "categorical" in p.stderr and "smotenc" in p.stderr
    single = write(tmp_path / "one.csv", ["x", "y"], [[i, "a"] for i in range(10)])
    assert "single class" in run_cli("tabular", single, tmp_path / "o3.csv", "--target", "y", check=2).stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in run_cli("tabular", empty, tmp_path / "o4.csv", "--target", "y", check=2).stderr
    dates = write(tmp_path / "d.csv", ["when", "x", "y"], [[f"2024-01-{i + 1:02d}", i, "a" if i % 3 else "b"] for i in range(20)])
    p = run_cli("tabular", dates, tmp_path / "o5.csv", "--target", "y", check=2)
    assert "'when'" in p.stderr and "--exclude when" in p.stderr
    ids = write(tmp_path / "ids.csv", ["uid", "x", "y"], [[f"user-{i}", i, "a" if i % 4 else "b"] for i in range(200)])
    p = run_cli("tabular", ids, tmp_path / "o8.csv", "--target", "y", check=2)
    assert "'uid' looks like free text or an ID" in p.stderr and "--exclude uid" in p.stderr
    run_cli("tabular", ids, tmp_path / "o8.csv", "--target", "y", "--exclude", "uid", check=0)
    assert "no target column" in run_cli("tabular", src, tmp_path / "o6.csv", "--target", "nope", check=2).stderr
    p = run_cli("tabular", src, tmp_path / "o7.csv", check=2)  # no --target: the columns to pick from
    assert "target is missing" in p.stderr and p.stderr.strip().endswith(f"columns of {src}: a, b, count, y")
    tiny = write(tmp_path / "tiny.csv", ["x", "z", "y"], [[i, i * 2, "a"] for i in range(20)] + [[1, 1, "b"], [2, 3, "b"], [5, 1, "c"]])
    p = run_cli("tabular", tiny, tmp_path / "o7.csv", "--target", "y", check=0)
    assert "k_neighbors reduced from 5 to 1" in p.stdout and "single row: random" in p.stdout
    assert sum(r["y"] == "c" for r in read(tmp_path / "o7.csv")) == 20
    p = run_cli("tabular", src, tmp_path / "o7.csv", "--target", "y", check=2)  # another input into o7.csv
    assert "holds a run made with other settings or another input" in p.stderr and "--overwrite" in p.stderr


def test_evaluate_reports_both_models_with_and_without(tmp_path):
    src = numeric_table(tmp_path / "t.csv", 200, 25)
    p = run_cli("tabular", src, tmp_path / "o.csv", "--target", "y", "--evaluate", check=0)
    assert "logistic_regression" in p.stdout and "random_forest" in p.stdout
    ev = json.loads((tmp_path / "o.csv.summary.json").read_text())["evaluation"]
    for model in ev["models"].values():
        assert set(model) == {"without", "with"} and 0 <= model["with"]["minority_recall"] <= 1


def test_format_conversion_keeps_values_and_types(tmp_path):
    rng = np.random.default_rng(1)
    rows = [[round(float(rng.normal()), 3), int(rng.integers(0, 9)), str(rng.choice(["x", "y"])),
             "rare" if i % 6 == 0 else "common"] for i in range(120)]
    src = write(tmp_path / "t.csv", ["v", "n", "cat", "label"], rows)
    run_cli("tabular", src, tmp_path / "o.tsv", "--target", "label", "--format", "tsv", check=0)
    out = read(tmp_path / "o.tsv", "\t")
    assert len(out) == 200 and [r["v"] for r in out[:120]] == [str(r[0]) for r in rows]
    assert all(r["n"].isdigit() and r["cat"] in ("x", "y") for r in out)
    run_cli("tabular", src, tmp_path / "o.parquet", "--target", "label", "--format", "parquet", check=0)
    import pyarrow.parquet as pq

    t = pq.read_table(tmp_path / "o.parquet")
    assert t.num_rows == 200 and str(t.schema.field("n").type) == "int64"
    assert set(t.column("cat").to_pylist()) == {"x", "y"} and t.column("_synthetic").to_pylist().count(1) == 80
    # without --format, OUTPUT's own name picks the format (it was silently renamed to .csv)
    run_cli("tabular", src, tmp_path / "by_name.parquet", "--target", "label", check=0)
    assert pq.read_table(tmp_path / "by_name.parquet").num_rows == 200
    run_cli("tabular", src, tmp_path / "by_name.tsv", "--target", "label", check=0)
    assert (tmp_path / "by_name.tsv").read_text().splitlines()[0] == "v\tn\tcat\tlabel\t_synthetic"  # unquoted
    assert not (tmp_path / "by_name.csv").exists()
