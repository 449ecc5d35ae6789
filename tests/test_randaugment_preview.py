"""`augcli preview` of a randaugment recipe on sample_data shows sensible variety: the copies of a
source draw different op lists, at torchvision's magnitude (bin 9 of 31), and different pixels."""
import cv2
import numpy as np
from conftest import ROOT, run_cli

from augcli.inspection import preview as pv
from augcli.recipe import load_config

RECIPE = "modality: image\ninput: {input}\ntransforms:\n  - randaugment: {{num_ops: 2, magnitude: 9}}\n"


def expected_magnitude(op: str, w: int, h: int) -> float | None:
    """|magnitude| of torchvision v2's RandAugment at bin 9 of 31 (linspace(0, max, 31)[9] = 0.3 max)."""
    return {"Brightness": 0.27, "Color": 0.27, "Contrast": 0.27, "Sharpness": 0.27, "ShearX": 0.09, "ShearY": 0.09,
            "Rotate": 9.0, "TranslateX": 150 / 331 * w * 0.3, "TranslateY": 150 / 331 * h * 0.3,
            "Solarize": 0.7, "Posterize": 7}.get(op)


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def test_randaugment_preview_on_sample_data_varies_ops_and_pixels(tmp_path):
    recipe = tmp_path / "ra.yaml"
    recipe.write_text(RECIPE.format(input=ROOT / "sample_data/images"))
    cfg = load_config(str(recipe), {}, require_io=False)
    made = pv._variants(cfg, 4, 6)
    assert len(made) == 4
    all_ops, names = set(), set()
    for job, _, variants in made:
        orig = cv2.imread(job.src, cv2.IMREAD_UNCHANGED)
        h, w = orig.shape[:2]
        lists, images = [], []
        for _, data, ops in variants:
            assert [o["name"] for o in ops] == ["randaugment"] and len(ops[0]["ops"]) == 2
            drawn = tuple((o["op"], o["magnitude"]) for o in ops[0]["ops"])
            for op, m in drawn:
                want = expected_magnitude(op, w, h)
                assert want is None or abs(abs(m) - want) < 1e-4, (job.source, op, m, want)
                names.add(op)
            lists.append(drawn)
            img = decode(data)
            assert img.shape == orig.shape
            if any(op != "Identity" for op, _ in drawn):
                assert np.abs(img.astype(np.int32) - orig).mean() > 0.5, (job.source, drawn)
            images.append(img.tobytes())
        assert len(set(lists)) >= 5, (job.source, lists)  # 14 ops, 2 each: the 6 copies draw differently
        assert len(set(images)) >= 5, job.source
        all_ops |= set(lists)
    assert len(all_ops) >= 20 and len(names) >= 10, names  # the whole op set shows up on one sheet


def test_randaugment_preview_writes_its_sheet(tmp_path):
    recipe = tmp_path / "ra.yaml"
    recipe.write_text(RECIPE.format(input=ROOT / "sample_data/images"))
    out = tmp_path / "ra.png"
    run_cli("preview", recipe, "--samples", "2", "--variants", "3", "--out", out, check=0)
    sheet = cv2.imread(str(out))
    assert sheet is not None and sheet.shape[1] >= 4 * 150  # the original and 3 variants side by side


def test_preview_captions_name_the_ops_a_policy_drew():
    from augcli.inspection.preview import short

    ops = [{"name": "hflip"}, {"name": "randaugment", "ops": [{"op": "ShearX", "magnitude": 0.3},
                                                              {"op": "Equalize", "magnitude": 0.0}]},
           {"name": "augmix", "weights": [0.5, 0.5], "chains": [[{"op": "Posterize", "magnitude": 4}]] * 3}]
    assert short(ops) == "hflip randaugment[ShearX,Equalize] augmix[3 chains]"
