"""Mixup and CutMix: lambda's distribution, exact CutMix areas, soft labels, partners from train."""
import csv
import json

import cv2
import numpy as np
import pytest
from conftest import make_dataset, photo, run_cli, tree_hashes

from augcli.errors import RecipeError
from augcli.manifest import read_soft_labels
from augcli.transforms import audio as A
from augcli.transforms import image as I
from augcli.transforms.mix import Candidate, Partners, decide


def partners(n=10):
    return Partners([Candidate(f"/x/{c}/{i}.jpg", f"{c}/{i}.jpg", c) for c in ("a", "b") for i in range(n)])


@pytest.mark.parametrize("alpha", [0.4, 1.0, 2.0])
def test_lambda_follows_beta_alpha_alpha(alpha):
    from scipy import stats

    cfg = {"p": 1.0, "alpha": alpha, "partner": "any"}
    P = partners()
    lams = np.array([decide("mixup", cfg, seed, 3, "a/0.jpg", "a", P)["lambda"] for seed in range(4000)])
    assert stats.kstest(lams, stats.beta(alpha, alpha).cdf).pvalue > 0.001
    assert abs(lams.mean() - 0.5) < 0.02


def test_partner_modes_never_pick_the_source_and_respect_classes():
    P = partners(5)
    for mode, ok in (("same_class", lambda c: c.label == "a"), ("other_class", lambda c: c.label == "b"),
                     ("any", lambda c: True)):
        cfg = {"p": 1.0, "alpha": 1.0, "partner": mode}
        seen = set()
        for seed in range(300):
            d = decide("mixup", cfg, seed, 0, "a/2.jpg", "a", P)
            assert d["partner"] != "a/2.jpg" and ok(Candidate("", d["partner"], d["partner_label"]))
            seen.add(d["partner"])
        assert len(seen) == {"same_class": 4, "other_class": 5, "any": 9}[mode]  # every candidate reachable
    lonely = Partners([Candidate("/x/a/0.jpg", "a/0.jpg", "a")])
    d = decide("cutmix", {"p": 1.0, "alpha": 1.0, "partner": "other_class"}, 1, 0, "a/0.jpg", "a", lonely)
    assert "skipped" in d


def test_cutmix_pixels_and_exact_area_fraction():
    src = photo(90, 120, seed=1)
    other = np.full((45, 60, 3), 200, np.uint8)  # half size: resized to the source's size
    p = I.Pipeline(I.validate_steps([{"cutmix": {"p": 1.0}}], "t"))
    P = partners()
    for seed in range(30):
        mix = decide("cutmix", {"p": 1.0, "alpha": 1.0, "partner": "any"}, seed, 0, "a/0.jpg", "a", P)
        out, ops = p(src, np.random.default_rng(0), {**mix, "image": other})
        x1, y1, x2, y2 = ops[0]["box"]
        inside = np.zeros(src.shape[:2], bool)
        inside[y1:y2, x1:x2] = True
        assert np.array_equal(out[inside], np.full((inside.sum(), 3), 200, np.uint8))
        assert np.array_equal(out[~inside], src[~inside])
        assert ops[0]["lambda"] == 1 - inside.sum() / inside.size  # the real pasted area


def test_mixup_blends_with_lambda_and_matches_partner_mode():
    src = photo(60, 80, seed=2)
    grey = cv2.cvtColor(photo(120, 160, seed=3), cv2.COLOR_BGR2GRAY)  # grey and twice the size
    p = I.Pipeline(I.validate_steps([{"mixup": {"p": 1.0}}], "t"))
    mix = {"name": "mixup", "partner": "b/1.jpg", "partner_label": "b", "lambda": 0.3, "offset": 0.0, "image": grey}
    out, ops = p(src, np.random.default_rng(0), mix)
    g = cv2.cvtColor(cv2.resize(grey, (80, 60), interpolation=cv2.INTER_AREA), cv2.COLOR_GRAY2BGR)
    want = 0.3 * src.astype(float) + 0.7 * g.astype(float)
    assert np.abs(out.astype(float) - want).max() <= 1.0 and ops[0]["lambda"] == 0.3


def test_audio_mixup():
    x = np.ones((1000, 2), np.float32) * 0.5
    partner = np.linspace(-1, 1, 300, dtype=np.float32)[:, None]  # mono and shorter: looped
    p = A.Pipeline(A.validate_steps([{"mixup": {"p": 1.0}}], "t"))
    mix = {"name": "mixup", "partner": "b/x.wav", "partner_label": "b", "lambda": 0.25, "offset": 0.0, "audio": partner}
    y, ops = p(x, 16000, np.random.default_rng(0), mix)
    want = 0.25 * 0.5 + 0.75 * partner[np.arange(1000) % 300, 0]
    assert np.allclose(y[:, 0], want) and np.allclose(y[:, 1], want)


def test_recipe_rules():
    with pytest.raises(RecipeError, match="inside one_of"):
        I.validate_steps([{"one_of": {"steps": [{"mixup": {}}, {"hflip": {}}]}}], "t")
    with pytest.raises(RecipeError, match="second mixing step"):
        I.validate_steps([{"mixup": {}}, {"cutmix": {}}], "t")
    with pytest.raises(RecipeError, match="unknown transform 'cutmix'"):
        A.validate_steps([{"cutmix": {}}], "t")


def manifest(out):
    with open(out / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def _one_and_two_workers(tmp_path, classes: dict, recipe_text: str) -> list[dict]:
    """The run on 1 and on 2 workers (the same bytes: checked); the manifest's rows."""
    src = make_dataset(tmp_path / "in", classes)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(recipe_text)
    a, b = tmp_path / "a", tmp_path / "b"
    run_cli("image", src, a, "--recipe", recipe, "--workers", "1", check=0)
    run_cli("image", src, b, "--recipe", recipe, "--workers", "2", check=0)
    assert tree_hashes(a) == tree_hashes(b)
    return manifest(a)


def test_cli_soft_labels_partners_from_train_only_and_determinism(tmp_path):
    rows = _one_and_two_workers(tmp_path, {"cat": 8, "dog": 5, "fox": 4},
                                "modality: image\ncopies: 3\nval_split: 0.25\nseed: 8\ntransforms:\n"
                                "  - rotate: {degrees: 10}\n  - cutmix: {alpha: 1.0, p: 0.8, partner: other_class}\n")
    val = {r["source"] for r in rows if r["split"] == "val"}
    mixed = [r for r in rows if r["mix_source"]]
    assert len(mixed) > 10
    for r in mixed:
        assert r["mix_source"] not in val and r["mix_label"] != r["label"]
        soft = json.loads(r["soft_label"])
        assert abs(sum(soft.values()) - 1) < 1e-9 and soft[r["label"]] == float(r["mix_lambda"])
        folder = r["path"].split("/")[1]
        assert folder == max(soft, key=soft.get) or abs(soft[r["label"]] - 0.5) < 0.02  # under the dominant class
    assert all(json.loads(r["soft_label"]) == {r["label"]: 1.0} for r in rows if not r["mix_source"])
    a = tmp_path / "a"
    paths, names, m = read_soft_labels(a)
    assert names == ["cat", "dog", "fox"] and np.allclose(m.sum(axis=1), 1)
    assert len(paths) == len([r for r in rows if r["split"] == "train"])
    for p in paths:
        assert (a / p).is_file()


def test_unreadable_partner_fails_the_job_with_a_reason(tmp_path):
    src = make_dataset(tmp_path / "in", {"cat": 3, "dog": 1})
    (src / "dog" / "img000.jpg").write_bytes(b"not a jpeg")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("modality: image\ncopies: 2\ntransforms:\n  - mixup: {p: 1.0, partner: other_class}\n")
    out = tmp_path / "out"
    run_cli("image", src, out, "--recipe", recipe, check=1)
    errs = [r["error"] for r in manifest(out) if r["status"] == "failed" and r["source"].startswith("cat/")]
    assert errs and all("mixup partner dog/img000.jpg" in e for e in errs)


SWITCH = {"one_of": {"steps": [{"mixup": {"p": 1.0}}, {"cutmix": {"p": 1.0}}], "weights": [0.3, 0.7]}}


def test_mixup_and_cutmix_share_a_one_of_one_mix_per_copy_by_weight():
    steps = I.validate_steps([{"hflip": {}}, SWITCH], "t")
    name, cfg = steps[1]
    P = partners()
    kinds = [decide(name, cfg, seed, 1, "a/0.jpg", "a", P)["name"] for seed in range(2000)]
    share = kinds.count("cutmix") / len(kinds)
    assert set(kinds) == {"mixup", "cutmix"} and abs(share - 0.7) < 0.04  # 0.04: > 3.9 standard errors
    # the one_of's own p, and the chosen step's, both count (each from the copy's mix stream)
    half = I.validate_steps([{"one_of": {"p": 0.5, "steps": [{"mixup": {"p": 0.5}}, {"cutmix": {"p": 1.0}}]}}], "t")[0]
    fired = [decide(*half, seed, 0, "a/0.jpg", "a", P) for seed in range(2000)]
    rate = sum(d is not None for d in fired) / 2000
    assert abs(rate - 0.5 * (0.5 * 0.5 + 0.5)) < 0.04
    # and the pipeline applies the step the draws name
    src = photo(60, 80, seed=2)
    other = np.full((60, 80, 3), 200, np.uint8)
    pipe = I.Pipeline([steps[1]])
    for seed in range(6):
        mix = decide(name, cfg, seed, 0, "a/0.jpg", "a", P)
        out, ops = pipe(src, np.random.default_rng(0), {**mix, "image": other})
        assert [o["name"] for o in ops] == [mix["name"]]
        if mix["name"] == "cutmix":
            x1, y1, x2, y2 = ops[0]["box"]
            assert (out[y1:y2, x1:x2] == 200).all()
        else:
            want = mix["lambda"] * src.astype(float) + (1 - mix["lambda"]) * 200
            assert np.abs(out.astype(float) - want).max() <= 1.0


def test_a_mix_one_of_is_refused_where_it_cannot_switch():
    with pytest.raises(RecipeError, match="second mixing step"):
        I.validate_steps([SWITCH, {"mixup": {}}], "t")
    with pytest.raises(RecipeError, match="inside one_of"):  # audio has no cutmix, and no switch
        A.validate_steps([{"one_of": {"steps": [{"mixup": {}}, {"gain": {}}]}}], "t")


def test_cli_one_of_mixup_cutmix_soft_labels_and_determinism(tmp_path):
    rows = _one_and_two_workers(
        tmp_path, {"cat": 6, "dog": 6},
        "modality: image\ncopies: 6\nval_split: 0.2\nseed: 3\ntransforms:\n  - rotate: {degrees: 10}\n"
        "  - one_of: {steps: [{mixup: {p: 1, partner: other_class}}, {cutmix: {p: 1, partner: other_class}}],"
        " weights: [0.5, 0.5]}\n")
    val = {r["source"] for r in rows if r["split"] == "val"}
    aug = [r for r in rows if r["copy"]]
    kinds = [json.loads(r["ops"])[-1]["name"] for r in aug]
    assert all(r["mix_source"] for r in aug) and set(kinds) == {"mixup", "cutmix"}
    assert 0.3 < kinds.count("cutmix") / len(kinds) < 0.7
    for r, kind in zip(aug, kinds):
        op = json.loads(r["ops"])[-1]
        assert r["mix_source"] not in val and r["mix_label"] != r["label"]
        soft = json.loads(r["soft_label"])
        assert soft == {r["label"]: round(op["lambda"], 6), r["mix_label"]: round(1 - round(op["lambda"], 6), 6)}
        assert ("box" in op) == (kind == "cutmix")
