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
    got = deduplicate_names(items, lambda it: ".png")
    assert [it.out_key for it in got] == _dedup_reference(items, lambda it: ".png")
    assert got[-1] is items[-1]  # an item whose name is unique is kept as it is
    clash = [Item("/r/a_png.png", "a_png.png", None, "a_png"), Item("/r/a.png", "a.png", None, "a"),
             Item("/r/a.jpg", "a.jpg", None, "a"), Item("/r/a_png.jpg", "a_png.jpg", None, "a_png")]
    assert [it.out_key for it in deduplicate_names(clash, lambda it: ".png")] == \
        _dedup_reference(clash, lambda it: ".png")
    with pytest.raises(UsageError, match="would be written by more than one input"):
        deduplicate_names([Item("/r/a.png", "a.png", None, "k"), Item("/s/a.png", "a.png", None, "k")],
                          lambda it: ".png")


@pytest.mark.parametrize("n", [0, 1, 19_999, 20_000, 20_001, 45_000])
def test_the_fingerprint_hashed_a_slice_at_a_time_is_that_of_the_whole_json(n):
    inputs = [(f"c{i % 3}/é{i}.png", None if i % 4 == 0 else f'c"{i % 3}') for i in range(n)]
    settings = {"seed": 3, "transforms": [("rotate", {"degrees": 20})], "z": None, "a": {"inputs": []},
                "format": Path("x")}
    whole = json.dumps({**settings, "inputs": inputs}, sort_keys=True, default=str)
    assert fingerprint(settings, iter(inputs)) == hashlib.sha256(whole.encode()).hexdigest()

