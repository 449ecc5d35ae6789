"""The plan at scale (issue 16): compact listings and indexes giving the same plan, names,
fingerprint and manifest as the plain structures they replace."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections import Counter
from pathlib import Path, PurePosixPath

import pytest

from augcli.errors import UsageError
from augcli.plan import fingerprint
from augcli.sources import _UNSAFE, Item, _Walker, deduplicate_names, discover_folder


def _touch(root: Path, rels: list[str]) -> None:
    for r in rels:
        p = root / r
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


TRICKY = ["a.png", "a/b.png", "a-b/c.png", "a.b/d.png", "A/e.png", "a/a/a.png", "a/a.png", "a0.png", "Z.png",
          "é/f.png", "a b/g.png", "a/b/c/d.png", "b.png"]


def test_the_walker_lists_files_in_the_order_of_their_parts_without_sorting(tmp_path):
    _touch(tmp_path / "in", TRICKY)
    files, _ = _Walker(tmp_path / "in", {".png"}, False).run()
    assert files == sorted(files, key=lambda f: f.split(os.sep))
    assert [Path(f).relative_to(tmp_path / "in").as_posix() for f in files] == \
        sorted(TRICKY, key=lambda r: r.split("/"))
    rels, _ = _Walker(tmp_path / "in", {".png"}, False, relative=True).run()
    assert rels == sorted(TRICKY, key=lambda r: r.split("/"))


def test_followed_linked_folders_are_sorted_into_place(tmp_path):
    _touch(tmp_path / "in", ["b/1.png", "d/2.png"])
    _touch(tmp_path / "other", ["3.png"])
    os.symlink(tmp_path / "other", tmp_path / "in" / "c")
    rels, _ = _Walker(tmp_path / "in", {".png"}, True, relative=True).run()
    assert rels == ["b/1.png", "c/3.png", "d/2.png"]


def test_items_keep_the_source_and_derive_the_path_and_output_key(tmp_path):
    _touch(tmp_path / "in", ["cat/x.png", "a:b/y.jpg"])
    items, _ = discover_folder(tmp_path / "in", {".png", ".jpg"})
    root = str(tmp_path / "in")
    assert [(it.path, it.source, it.label, it.out_key) for it in items] == [
        (f"{root}/a:b/y.jpg", "a:b/y.jpg", "a:b", "a_b/y"), (f"{root}/cat/x.png", "cat/x.png", "cat", "cat/x")]
    assert items[0]._key == "a_b/y" and items[1]._key is None and items[0]._base is items[1]._base
    odd = Item("/elsewhere/z.png", "q/z.png", None, "k")  # a path that is not base + source
    assert (odd.path, odd.out_key) == ("/elsewhere/z.png", "k")
    for it in (*items, odd):
        back = pickle.loads(pickle.dumps(it))
        assert back == it and hash(back) == hash(it) and repr(back) == repr(it)
    assert Item("/r/a.png", "a.png", None, "a") != Item("/r/a.png", "a.png", None, "b")


def _dedup_reference(items, ext_of):
    """The names as deduplicate_names made them with Counters of every name (before issue 16)."""
    exts = [ext_of(it) for it in items]
    counts = Counter(it.out_key + e for it, e in zip(items, exts))
    out = []
    for it, e in zip(items, exts):
        key = it.out_key
        if counts[key + e] > 1:
            suffix = PurePosixPath(it.source).suffix.lstrip(".").lower()
            key = f"{key}_{suffix}" if suffix else key
        out.append(key)
    counts = Counter(k + e for k, e in zip(out, exts))
    final = []
    for it, key, e in zip(items, out, exts):
        if counts[key + e] > 1:
            parent = str(PurePosixPath(key).parent)
            flat = _UNSAFE.sub("_", it.source)
            key = flat if parent == "." else f"{parent}/{flat}"
        final.append(key)
    return final


def test_deduplicated_names_are_those_of_counting_every_name():
    srcs = ["a.png", "a.jpg", "b.png", "c.PNG", "c.png", "x/d.png", "y/d.png", "d.jpg", "e", "e.png", "f.tif"]
    items = [Item(f"/r/{s}", s, None, str(PurePosixPath(s.rsplit("/", 1)[-1]).with_suffix(""))) for s in srcs]
    got = deduplicate_names(items, lambda source: ".png")
    assert [it.out_key for it in got] == _dedup_reference(items, lambda it: ".png")
    assert got[-1] == items[-1]  # an item whose name is unique keeps its output key
    clash = [Item("/r/a_png.png", "a_png.png", None, "a_png"), Item("/r/a.png", "a.png", None, "a"),
             Item("/r/a.jpg", "a.jpg", None, "a"), Item("/r/a_png.jpg", "a_png.jpg", None, "a_png")]
    assert [it.out_key for it in deduplicate_names(clash, lambda source: ".png")] == \
        _dedup_reference(clash, lambda it: ".png")
    with pytest.raises(UsageError, match="would be written by more than one input"):
        deduplicate_names([Item("/r/a.png", "a.png", None, "k"), Item("/s/a.png", "a.png", None, "k")],
                          lambda source: ".png")


@pytest.mark.parametrize("n", [0, 1, 1_999, 2_000, 2_001, 4_500, 20_001])
def test_the_fingerprint_hashed_a_slice_at_a_time_is_that_of_the_whole_json(n):
    from augcli.plan import FINGERPRINT_SLICE

    assert FINGERPRINT_SLICE == 2_000  # (the sizes above are around it)
    inputs = [(f"c{i % 3}/é{i}.png", None if i % 4 == 0 else f'c"{i % 3}') for i in range(n)]
    settings = {"seed": 3, "transforms": [("rotate", {"degrees": 20})], "z": None, "a": {"inputs": []},
                "format": Path("x")}
    whole = json.dumps({**settings, "inputs": inputs}, sort_keys=True, default=str)
    assert fingerprint(settings, iter(inputs)) == hashlib.sha256(whole.encode()).hexdigest()


def _plan(tmp_path, rels, **opts):
    from augcli import modalities
    from augcli.recipe import Config

    _touch(tmp_path / "in", rels)
    cfg = Config.from_dict({"modality": "image", "input": str(tmp_path / "in"), "output": str(tmp_path / "out"),
                            "transforms": [{"hflip": {"p": 0.5}}], **opts})
    m = modalities.resolve(cfg)
    return cfg, m, m.plan(cfg)


def _order(jobs) -> dict:
    """The dict path -> (position, seed as written) the index replaces (before issue 16)."""
    order = {}
    for job in jobs:
        for o in job.list_outputs():
            order[o.path] = (len(order), "" if o.seed is None else str(o.seed))
    return order


def test_the_index_finds_every_planned_output_and_nothing_else(tmp_path):
    from augcli.planindex import PlanIndex

    rels = [f"c{i % 3}/img{i}.png" for i in range(30)] + ["c0/x__aug1.png", "c0/z.png", "c1/y__aug01.png",
                                                          "c2/a.b.png", "c2/a.b.jpg"]
    _, _, plan = _plan(tmp_path, rels, copies=2, val_split=0.2, seed=5)
    index, order = PlanIndex(plan.jobs), _order(plan.jobs)
    assert len(index) == len(order) == plan.n_outputs and len(order) > 60
    for path, want in order.items():
        assert index.locate(path) == want, path
        assert index.locate(path, False) == (want[0], want[1] if "__aug" not in path or not want[1] else "")
    for path in ("train/c0/img0__aug2.png", "train/c0/img0__aug02.png", "train/c0/img0.jpg", "val/c0/x.png",
                 "train/c9/img0.png", "train/c0/x__aug1__aug5.png", "c0/img0.png", "", "train/c0/img0__aug1"):
        assert index.locate(path) is None, path


def test_the_index_of_a_plan_where_some_files_have_no_job(tmp_path):
    from augcli.planindex import PlanIndex

    rels = [f"c0/a{i}.png" for i in range(10)] + [f"c1/b{i}.png" for i in range(3)]
    _, _, plan = _plan(tmp_path, rels, copies=1, balance=True, no_originals=True, target_per_class=4)
    jobs = plan.jobs  # 4 of the 10 files of c0 get a copy, the others nothing (and no job)
    assert [j.source for j in jobs] == ["c0/a0.png", "c0/a1.png", "c0/a3.png", "c0/a8.png", *rels[10:]]
    assert list(jobs.at) == [0, 1, 3, 8, 10, 11, 12] and list(jobs.out_keys()) == [j.item.out_key for j in jobs]
    index, order = PlanIndex(jobs), _order(jobs)
    assert len(order) == 8 and all(index.locate(p) == want for p, want in order.items())
    assert index.locate("train/c0/a2__aug0.png") is None


def test_the_index_of_a_mixing_plan_lists_the_mixed_copies(tmp_path):
    from augcli.planindex import PlanIndex

    rels = [f"c{i % 2}/img{i}.png" for i in range(12)]
    _touch(tmp_path / "in", rels)
    from augcli import modalities
    from augcli.recipe import Config

    cfg = Config.from_dict({"modality": "image", "input": str(tmp_path / "in"), "output": str(tmp_path / "o"),
                            "copies": 3, "transforms": [{"mixup": {"p": 1.0, "partner": "other_class"}}]})
    plan = modalities.resolve(cfg).plan(cfg)
    index, order = PlanIndex(plan.jobs), _order(plan.jobs)
    assert {p: index.locate(p) for p in order} == order
    assert index.cls  # mixed copies written under the partner's class, named after their source
    for p, c in index.cls.items():
        _, folder, name = p.split("/")
        assert c == folder and name.startswith("mix__") and not name.startswith(f"mix__{c}__")


def test_the_manifest_is_sorted_into_plan_order_from_the_journal_on_disk(tmp_path):
    from augcli.manifest import COLUMNS, Manifest, _Lines, row_of
    from augcli.planindex import PlanIndex

    _, _, plan = _plan(tmp_path, [f"c{i % 2}/i,m\"g{i}.png" for i in range(8)], copies=2)
    index, order = PlanIndex(plan.jobs), _order(plan.jobs)
    line = _Lines()
    rows = [row_of(dict(zip(COLUMNS, [p, "s", "c0", "train", 1, "", seed, "[]", "ok", "two\nlines"])))
            for p, (_, seed) in order.items()]
    rows.reverse()
    out = tmp_path / "o"
    out.mkdir()
    m = Manifest(out, index)
    m.open()
    m.append(m.fresh(rows[:10]))
    m.append(m.fresh(rows[5:]))  # a retried unit reports rows again: counted once
    # where the rows are (runs of consecutive positions): finish need not locate them
    assert m.rows.known and sum(m.rows.count) == len(rows) and not m.rows.extra
    journal = (out / "manifest.csv").read_bytes()
    m.finish()
    assert (out / "manifest.csv").read_text() == line(dict(zip(COLUMNS, COLUMNS))) + \
        "".join(r.line for r in reversed(rows))
    # the same order from the rows' paths alone (a journal the run did not record)
    from augcli.manifest import in_plan_order

    want = (out / "manifest.csv").read_text().split("\n", 1)[1]
    assert "".join(in_plan_order(journal, index.locate, len(index))) == want
    # a journal that is not the bytes the run wrote (here a foreign row added) is not trusted: every
    # row is located again, the foreign one last
    m = Manifest(out, PlanIndex(plan.jobs))
    (out / "manifest.csv").unlink()
    m.open()
    m.append(m.fresh(rows))
    with open(out / "manifest.csv", "a") as f:
        f.write("elsewhere.png,s,c0,train,1,,1,[],ok,\n")
    m.finish()
    assert (out / "manifest.csv").read_text().split("\n", 1)[1] == want + "elsewhere.png,s,c0,train,1,,1,[],ok,\n"


def test_a_resume_keeps_rows_of_files_there_and_drops_the_others(tmp_path):
    from augcli.manifest import COLUMNS, Manifest, _Lines
    from augcli.planindex import PlanIndex

    _, _, plan = _plan(tmp_path, [f"c{i % 2}/img{i}.png" for i in range(6)], copies=2)
    index, order = PlanIndex(plan.jobs), _order(plan.jobs)
    out, line = tmp_path / "o", _Lines()
    paths = list(order)
    for p in paths[:10]:
        (out / p).parent.mkdir(parents=True, exist_ok=True)
        (out / p).write_bytes(b"x")
    row = lambda p, seed, status="ok": line(dict(zip(COLUMNS, [p, "s", "", "train", 0, "", seed, "[]", status])))  # noqa: E731
    journal = [row(p, order[p][1]) for p in paths[:12]]  # 10 files there, 2 missing
    journal[3] = row(paths[3], "12345" if order[paths[3]][1] else "1")  # another seed: made again
    journal += [row(paths[12], order[paths[12]][1], "dropped"), row(paths[13], order[paths[13]][1], "failed"),
                row("train/c0/foreign.png", ""), "garbage\x00line\n", row(paths[0], order[paths[0]][1])]
    (out / "manifest.csv").write_text(line(dict(zip(COLUMNS, COLUMNS))) + "".join(journal[::-1]) + "cut sho")
    m = Manifest(out, index)
    assert m.resume() == 10  # 9 files there with their seed, and the dropped copy
    assert m.damaged == 3  # the other seed, the foreign path, the line with NUL bytes
    want = [i for i in range(10) if i != 3] + [12]
    assert [i for i in range(len(paths)) if m.done[i]] == want
    m.finish()
    assert (out / "manifest.csv").read_text().splitlines()[1:] == [journal[i].rstrip("\n") for i in want]
    todo = index.left(m.done)
    assert sum(j.n_outputs for j in todo) == len(paths) - len(want)
    assert {o.path for j in todo for o in j.outputs} == {p for i, p in enumerate(paths) if i not in want}


def test_a_plain_job_run_in_this_process_keeps_no_outputs(tmp_path):
    import signal

    from augcli.worker import init_worker, run_job

    cfg, m, plan = _plan(tmp_path, ["c0/a.png", "c1/b.png"], copies=3)
    handler = signal.getsignal(signal.SIGINT)
    try:
        init_worker(cfg, str(tmp_path / "out"), m)  # as --workers 1 does, in the parent
        rows = run_job(plan.jobs[0])  # not an image: every output fails, with its row
    finally:
        signal.signal(signal.SIGINT, handler)
    assert [r.path for r in rows] == [o.path for o in plan.jobs[0].list_outputs()] and len(rows) == 4
    assert all(r.status == "failed" and r.line.startswith(f"{r.path},") for r in rows)
    assert plan.jobs[0]._outputs is None  # still made from its spec when read: no Output kept


def test_the_remote_journal_copy_keeps_whole_lines_only(tmp_path):
    from augcli.remote_manifest import _whole_lines

    for data, want in ((b"a,1\nb,2\n", b"a,1\nb,2\n"), (b"a,1\nb,2\nc,", b"a,1\nb,2\n"), (b"cut", b""),
                       (b"x" * 70000 + b"\n" + b"y" * 70000, b"x" * 70000 + b"\n")):
        with open(tmp_path / "j", "w+b") as f:
            f.write(data)
            _whole_lines(f)
            f.write(b"next\n")  # the next object's rows follow the last whole line
        assert (tmp_path / "j").read_bytes() == want + b"next\n"


@pytest.mark.parametrize("spill", [None, 7])
def test_a_listing_gives_back_the_items_it_holds(spill, monkeypatch):
    from augcli.listing import Listing, _Text

    if spill:  # the text in a temp file past a few bytes, read back in blocks of 4
        monkeypatch.setattr(_Text, "SPILL", spill)
        monkeypatch.setattr(_Text, "BLOCK", 4)

    items = [Item(f"/r/{s}", s, s.split("/")[0] if "/" in s else None, _stem(s)) for s in TRICKY]
    items += [Item("/elsewhere/z.png", "q/z.png", None, "k"),  # a path that is not base + source, its own key
              Item("/r/\udcff\u00e9.png", "\udcff\u00e9.png", None, "\udcff\u00e9")]  # an undecodable byte in a name
    listing = Listing.of(items)
    assert list(listing) == items and len(listing) == len(items) and listing[-1] == items[-1]
    assert list(listing.sources()) == [it.source for it in items]
    assert list(listing.out_keys()) == [it.out_key for it in items]
    assert [listing.path(i) for i in range(len(items))] == [it.path for it in items]
    assert list(listing.sorted_by_source()) == sorted(items, key=lambda it: it.source)
    in_order = Listing.of(sorted(items, key=lambda it: it.source))
    assert in_order.sorted_by_source() is in_order  # (already sorted: no copy)
    with pytest.raises(IndexError):
        listing[len(items)]


def test_a_listing_of_many_files_keeps_its_text_in_a_temp_file_and_reads_it_back_in_any_order(monkeypatch):
    import random
    from array import array

    from augcli.listing import Listing, _Text, append

    monkeypatch.setattr(_Text, "SPILL", 1000)
    monkeypatch.setattr(_Text, "BLOCK", 64)
    rng = random.Random(5)
    sources = [f"c{i % 300}/{'é' * rng.randrange(0, 40)}{i}.png" for i in range(3000)]  # 300 classes
    listing = Listing("/r/")
    for s in sources:
        listing.add(s, s.split("/")[0])
    assert listing._text.f is not None and listing._text.on_disk > 0  # (most of it in the file)
    assert listing.label_of.typecode == "H" and listing._ends.typecode == "I"  # (wider past 256 classes)
    assert list(listing.sources()) == sources
    order = list(range(len(sources)))
    rng.shuffle(order)
    assert [listing.source(i) for i in order] == [sources[i] for i in order]
    assert [listing.label(i) for i in order] == [sources[i].split("/")[0] for i in order]
    assert [listing[i].path for i in order[:50]] == ["/r/" + sources[i] for i in order[:50]]
    assert list(listing.labelled(lambda s: ("x", None)).sources()) == sources  # (the same text, shared)
    big = append(array("I", [1]), 1 << 33)  # offsets past 4 GB of text
    assert big.typecode == "q" and list(big) == [1, 1 << 33]


def _stem(source: str) -> str:
    return str(PurePosixPath(source).with_suffix(""))


def test_a_plan_of_many_sources_holds_tens_of_bytes_a_source(tmp_path):
    """No Python object per source or output lasts beyond the planning: the listing's buffer, the
    jobs' arrays (measured ~57 bytes a source; a list of Items and Jobs held ~220)."""
    import gc
    import tracemalloc

    from augcli import modalities
    from augcli.listing import Listing
    from augcli.plan import make_plan
    from augcli.recipe import Config

    cfg = Config.from_dict({"modality": "image", "input": str(tmp_path), "output": str(tmp_path / "out"),
                            "copies": 4, "val_split": 0.1, "transforms": [{"hflip": {"p": 0.5}}]})
    n = 50_000
    gc.collect()
    tracemalloc.start()
    try:
        listing = Listing(str(tmp_path) + "/")
        for i in range(n):
            listing.add(f"class{i % 7}/img{i:07d}.png", f"class{i % 7}")
        plan = make_plan(listing, cfg, modalities.resolve(cfg))
        del listing
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    train = plan.jobs.splits.count(0)
    assert plan.n_outputs == n + 4 * train and abs(n - train - 0.1 * n) <= 7  # (rounded per class)
    assert held / n < 80, held / n  # an object per source (an Item alone is 72 bytes, its text ~70) fails
    job = plan.jobs[12_345]  # made when read, from the arrays
    assert job.source == sorted(f"class{i % 7}/img{i:07d}.png" for i in range(n))[12_345]
    assert job.label == job.source.split("/")[0] and job.n_outputs in (1, 5)


def test_temp_files_left_by_a_killed_worker_are_removed_and_nothing_else(tmp_path):
    from augcli.io import TMP_MARK
    from augcli.outdir import clean_temp

    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    keep = ["train/c0/a.png", "train/c0/.hidden.png", f"train/c0/b{TMP_MARK}1.png", "manifest.csv"]
    gone = [f"train/c0/.a.png{TMP_MARK}123", f"val/c1/deep/.x.png{TMP_MARK}9", f".manifest.csv{TMP_MARK}5"]
    _touch(out, keep + gone)
    _touch(elsewhere, [f".y.png{TMP_MARK}7"])
    (out / "linked").symlink_to(elsewhere, target_is_directory=True)  # not followed
    clean_temp(out)
    assert all((out / p).exists() for p in keep) and not any((out / p).exists() for p in gone)
    assert (elsewhere / f".y.png{TMP_MARK}7").exists()


def test_class_groups_are_those_of_one_pass_over_the_files():
    import random

    from augcli.listing import Listing
    from augcli.plan import TRAIN, _classes

    rnd = random.Random(3)
    listing, labels = Listing("/r/"), []
    for i in range(3000):
        label = f"c{rnd.randrange(400)}"  # many classes, interleaved
        listing.add(f"{label}/f{i}.png", label)
        labels.append(label)
    split = bytearray(rnd.randrange(2) for _ in range(len(labels)))
    for sp in (None, split):
        want: dict = {}
        for i, label in enumerate(labels):
            if sp is None or sp[i] == TRAIN:
                want.setdefault(label, []).append(i)
        got = _classes(listing, sp)
        assert list(got) == list(want) and all(got[k].tolist() == v for k, v in want.items())


def test_a_fresh_run_knows_its_rows_positions_and_a_resume_finds_them(tmp_path, monkeypatch):
    """A fresh run's rows come back with their job's first position (Job.start): the index of
    paths is never built and the journal's rows are recorded as a few runs, yet the manifest is
    in plan order; a resume (rows read back from the journal) builds it and gives the same bytes."""
    import cv2
    import numpy as np

    import augcli
    from augcli.manifest import Manifest
    from augcli.planindex import PlanIndex

    rels = [f"c{i % 3}/img{i:02d}.png" for i in range(24)]
    for r in rels:
        (tmp_path / "in" / r).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / "in" / r), np.full((8, 8, 3), len(r) * 7 % 256, np.uint8))
    built, runs = [], []
    build, finish = PlanIndex._build, Manifest.finish
    monkeypatch.setattr(PlanIndex, "_build", lambda self: (built.append(1), build(self))[1])
    monkeypatch.setattr(Manifest, "finish", lambda self: (runs.append(len(self.rows.first)), finish(self))[1])
    opts = dict(copies=2, workers=1, val_split=0.25, transforms=[{"hflip": {"p": 0.5}}])
    augcli.augment(tmp_path / "in", tmp_path / "a", **opts)
    assert built == [] and runs == [1]  # one job after another, in this process: one run
    _, _, plan = _plan(tmp_path / "p", rels, copies=2, val_split=0.25)
    manifest = (tmp_path / "a" / "manifest.csv").read_bytes()
    assert [ln.split(",")[0] for ln in manifest.decode().splitlines()[1:]] == list(_order(plan.jobs))
    # a resume: half the rows kept (the other half of the files made again)
    lines = manifest.splitlines(keepends=True)
    (tmp_path / "a" / "manifest.csv").write_bytes(b"".join(lines[:1] + lines[1::2]))
    augcli.augment(tmp_path / "in", tmp_path / "a", **opts)
    assert built == [1]
    assert (tmp_path / "a" / "manifest.csv").read_bytes() == manifest


def test_a_listing_that_cannot_have_its_temp_file_says_so_in_one_line(monkeypatch):
    import tempfile

    from augcli.listing import Listing, _Text

    def refused(**kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_Text, "SPILL", 64)
    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    listing = Listing("/r/")
    with pytest.raises(UsageError, match=r"cannot keep the list of input files in a temp file there \(No space "
                                         r"left on device\); set TMPDIR"):
        for i in range(100):
            listing.add(f"c/{i}.png", "c")


def test_rows_that_are_not_one_per_output_are_located_by_their_paths(tmp_path):
    from augcli.filework import numbered
    from augcli.plan import Numbered

    _, _, plan = _plan(tmp_path, ["c0/a.png", "c0/b.png"], copies=2)
    jobs = list(Numbered(plan.jobs))
    assert [j.start for j in jobs] == [0, 3]
    rows = ["r0", "r1", "r2"]
    assert numbered(jobs[1], rows) == (3, rows)
    assert numbered(jobs[1], rows[:2]) == (None, rows[:2])  # (then found from the rows' paths)
