"""Print the README's feature table: augcli's steps against torchvision v2, Albumentations,
audiomentations and nlpaug, row by row, each library's column measured from its real list of
transforms (not from memory). Run by hand; augcli never imports it.

    python tools/feature_table.py [--python PY ...] [--check]

Each library is introspected in a subprocess by the first interpreter (this one, then each
--python) that can import it: its public transform classes and version. A row's cell is ✓ when
the name mapped to it is in that list, ✗ otherwise; every transform of a library that no row
maps gets a row of its own (augcli ✗), so the table is complete. torchvision needs torch, too
big to install here: without it the list is TORCHVISION_V2 below, copied from torchvision's
torchvision/transforms/v2/__init__.py (the release with JPEG and GaussianNoise, >= 0.20).
augcli's column is read from its registries (augcli.transforms.image/audio/text STEPS); PENDING
names are steps built on another branch (counted as present, listed on stderr).
--check prints, on stderr, the mapped names a library does not have (a mapping to fix).

How the table in README.md was made (albumentations 2.0.8 in the project's venv; audiomentations
and nlpaug in a throwaway venv: python -m venv /tmp/ft && /tmp/ft/bin/pip install audiomentations nlpaug):
    PYTHONPATH=. .venv/bin/python tools/feature_table.py --python /tmp/ft/bin/python --check
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCHVISION_V2 = """CutMix JPEG MixUp RandomErasing AugMix AutoAugment RandAugment TrivialAugmentWide ColorJitter
Grayscale RandomAdjustSharpness RandomAutocontrast RandomChannelPermutation RandomEqualize RandomGrayscale
RandomInvert RandomPhotometricDistort RandomPosterize RandomSolarize RGB Compose RandomApply RandomChoice
RandomOrder CenterCrop ElasticTransform FiveCrop Pad RandomAffine RandomCrop RandomHorizontalFlip RandomIoUCrop
RandomPerspective RandomResize RandomResizedCrop RandomRotation RandomShortestSize RandomVerticalFlip
RandomZoomOut Resize ScaleJitter TenCrop ClampBoundingBoxes ConvertBoundingBoxFormat ConvertImageDtype
GaussianBlur GaussianNoise Identity Lambda LinearTransformation Normalize SanitizeBoundingBoxes ToDtype
UniformTemporalSubsample PILToTensor ToImage ToPILImage ToPureTensor ToTensor""".split()

SNIPPETS = {
    "torchvision": "import torchvision as L; from torchvision.transforms import v2 as M; base = M.Transform",
    "albumentations": ("import albumentations as L; M = L; "
                       "from albumentations.core.transforms_interface import BasicTransform as base"),
    "audiomentations": ("import audiomentations as L; M = L; "
                        "from audiomentations.core.transforms_interface import BaseWaveformTransform as base"),
    "nlpaug": ("import nlpaug as L, types, nlpaug.augmenter.char as c, nlpaug.augmenter.word as w, "
               "nlpaug.augmenter.sentence as s; from nlpaug.base_augmenter import Augmenter as base; "
               "M = types.SimpleNamespace(**{**vars(c), **vars(w), **vars(s)})"),
}
INTROSPECT = ("import inspect, json\n{setup}\n"
              "names = sorted(n for n, c in vars(M).items() if inspect.isclass(c) and issubclass(c, base))\n"
              "extra = [n for n in ('Compose', 'OneOf', 'SomeOf', 'RandomChoice', 'Lambda', 'BboxParams', "
              "'KeypointParams') if hasattr(M, n)]\n"
              "print(json.dumps([L.__version__, sorted(set(names + extra))]))")
# not augmentations: base classes, conversions, containers and no-ops (left out of the table)
NOT_STEPS = set("""BasicTransform DualTransform ImageOnlyTransform Transform3D Transform Augmenter CharAugmenter
WordAugmenter SentenceAugmenter BaseWaveformTransform Compose SomeOf RandomApply RandomOrder Identity NoOp ToFloat
FromFloat ToRGB RGB ToTensor PILToTensor ToImage ToPILImage ToPureTensor ConvertImageDtype ToDtype Normalize
LinearTransformation ConvertBoundingBoxFormat UniformTemporalSubsample CenterCrop3D CoarseDropout3D Pad3D
PadIfNeeded3D RandomCrop3D CubicSymmetry""".split())
KEEP = {"audiomentations": {"Normalize"}}  # a peak normalisation there: an augmentation, not a conversion
PENDING = {"perspective", "elastic", "grid_distortion", "one_of(mixup, cutmix)"}  # the other branch of issue 17
LIBS = {"image": ("torchvision", "albumentations"), "annotations": ("torchvision", "albumentations"),
        "audio": ("audiomentations",), "text": ("nlpaug",)}
TITLES = {"torchvision": "torchvision v2", "albumentations": "Albumentations", "audiomentations": "audiomentations",
          "nlpaug": "nlpaug"}

# (augcli step, then one name per library column of LIBS[group]); "" = none, "A / B" = either (each checked).
# The mapping is by effect and explicit: augcli hflip = torchvision RandomHorizontalFlip = Albumentations HorizontalFlip.
IMAGE = [
    ("hflip", "RandomHorizontalFlip", "HorizontalFlip"), ("vflip", "RandomVerticalFlip", "VerticalFlip"),
    ("rotate", "RandomRotation", "Rotate"), ("shift", "RandomAffine", "Affine / ShiftScaleRotate"), ("shear", "RandomAffine", "Affine"),
    ("zoom", "RandomAffine", "Affine"), ("perspective", "RandomPerspective", "Perspective"),
    ("elastic", "ElasticTransform", "ElasticTransform"), ("grid_distortion", "", "GridDistortion"),
    ("random_crop", "RandomCrop", "RandomCrop"), ("center_crop", "CenterCrop", "CenterCrop"),
    ("random_resized_crop", "RandomResizedCrop", "RandomResizedCrop / RandomSizedCrop"), ("resize", "Resize", "Resize"),
    ("brightness", "ColorJitter", "RandomBrightnessContrast"), ("contrast", "ColorJitter", "RandomBrightnessContrast"),
    ("saturation", "ColorJitter", "HueSaturationValue"), ("hue", "ColorJitter", "HueSaturationValue"),
    ("color_jitter", "ColorJitter", "ColorJitter"), ("channel_shift", "", "RGBShift"),
    ("grayscale", "Grayscale", "ToGray"), ("random_grayscale", "RandomGrayscale", "ToGray"),
    ("channel_shuffle", "RandomChannelPermutation", "ChannelShuffle"), ("gamma", "", "RandomGamma"),
    ("gaussian_noise", "GaussianNoise", "GaussNoise"), ("gaussian_blur", "GaussianBlur", "GaussianBlur"),
    ("cutout", "RandomErasing", "CoarseDropout / Erasing"), ("equalize", "RandomEqualize", "Equalize"),
    ("autocontrast", "RandomAutocontrast", "AutoContrast"), ("posterize", "RandomPosterize", "Posterize"),
    ("solarize", "RandomSolarize", "Solarize"), ("invert", "RandomInvert", "InvertImg"),
    ("sharpness", "RandomAdjustSharpness", "UnsharpMask"), ("sharpen", "", "Sharpen"), ("median_blur", "", "MedianBlur"),
    ("motion_blur", "", "MotionBlur"), ("clahe", "", "CLAHE"), ("jpeg_quality", "JPEG", "ImageCompression"),
    ("downscale", "", "Downscale"), ("randaugment", "RandAugment", ""), ("trivialaugment", "TrivialAugmentWide", ""),
    ("autoaugment", "AutoAugment", ""), ("augmix", "AugMix", ""), ("mixup", "MixUp", ""), ("cutmix", "CutMix", ""),
    ("one_of(mixup, cutmix)", "RandomChoice", ""), ("custom", "Lambda", "Lambda"), ("one_of", "RandomChoice", "OneOf"),
]
# augcli: an annotations option (augcli/annotations/options.py) or a step; torchvision: its box utilities
# (boxes are tv_tensors that every v2 transform moves), Albumentations: its BboxParams / KeypointParams
ANNOTATIONS = [
    ("format: yolo/coco/voc/masks (boxes, polygons, masks move with the geometric steps)", "ClampBoundingBoxes",
     "BboxParams"),
    ("flip_pairs (keypoints move; mirrored pairs swap)", "", "KeypointParams"),
    ("min_visibility, min_area (objects mostly cut off are dropped)", "SanitizeBoundingBoxes", "BboxParams"),
    ("on_cut: resample (draw again while an object is cut)", "", ""),
    ("mosaic", "", "Mosaic"),
]
AUDIO = [(a, b) for a, b in (
    ("gaussian_noise", "AddGaussianNoise"), ("noise_snr", "AddGaussianSNR"), ("background_noise", "AddBackgroundNoise"),
    ("color_noise", "AddColorNoise"), ("shift", "Shift"), ("speed", ""), ("time_stretch", "TimeStretch"),
    ("pitch_shift", "PitchShift"), ("gain", "Gain"), ("gain_transition", "GainTransition"),
    ("loudness_normalize", "LoudnessNormalization"), ("time_mask", "TimeMask"),
    ("polarity_inversion", "PolarityInversion"), ("reverse", "Reverse"), ("low_pass", "LowPassFilter"),
    ("high_pass", "HighPassFilter"), ("band_pass", "BandPassFilter"), ("band_stop", "BandStopFilter"),
    ("peaking_eq", "PeakingFilter"), ("low_shelf", "LowShelfFilter"), ("high_shelf", "HighShelfFilter"),
    ("seven_band_eq", "SevenBandParametricEQ"), ("clipping_distortion", "ClippingDistortion"),
    ("tanh_distortion", "TanhDistortion"), ("bit_crush", "BitCrush"), ("aliasing", "Aliasing"),
    ("mp3_compression", "Mp3Compression"), ("impulse_response", "ApplyImpulseResponse"), ("trim", "Trim"),
    ("adjust_duration", "AdjustDuration"), ("resample", "Resample"), ("mixup", ""), ("one_of", "OneOf"))]
TEXT = [
    ("synonym_replace", "SynonymAug(aug_src='wordnet')"), ("random_insert", ""),
    ("random_swap", "RandomWordAug(action='swap')"), ("random_delete", "RandomWordAug(action='delete')"), ("word_shuffle", ""), ("sentence_shuffle", "RandomSentAug"),
    ("char_noise", "KeyboardAug / RandomCharAug"), ("eda", ""),
    ("back_translation", "BackTranslationAug"), ("paraphrase", ""), ("word_embedding_replace", "WordEmbsAug"),
    ("one_of", ""),
]
GROUPS = {"image": IMAGE, "annotations": ANNOTATIONS, "audio": AUDIO, "text": TEXT}
AUGCLI_MODULE = {"image": "image", "annotations": "image", "audio": "audio", "text": "text"}


def introspect(lib: str, pythons: list[str]) -> tuple[str, set[str]] | None:
    """(version, names) from the first interpreter that imports the library, or None."""
    code = INTROSPECT.format(setup=SNIPPETS[lib])
    for py in pythons:
        p = subprocess.run([py, "-c", code], capture_output=True, text=True)
        if p.returncode == 0 and p.stdout.strip():
            version, names = json.loads(p.stdout.strip().splitlines()[-1])
            return version, set(names)
    return None


def measure(pythons: list[str]) -> dict[str, tuple[str, set[str]]]:
    out = {}
    for lib in SNIPPETS:
        got = introspect(lib, pythons)
        if got is None and lib == "torchvision":
            got = (">= 0.20 (source list: transforms/v2/__init__.py)", set(TORCHVISION_V2))
        if got is None:
            sys.exit(f"{lib}: not importable by {', '.join(pythons)}; install it (see this file's docstring)")
        out[lib] = got
    return out


def augcli_names() -> dict[str, set[str]]:
    sys.path.insert(0, str(ROOT))
    import importlib

    names = {m: set(importlib.import_module(f"augcli.transforms.{m}").STEPS) for m in ("image", "audio", "text")}
    from augcli.annotations.options import FORMATS, OPTION_PARAMS

    names["annotations"] = ({p.name for p in OPTION_PARAMS} | {c for p in OPTION_PARAMS for c in p.choices}
                            | set(FORMATS) | ({"mosaic"} & names["image"]))
    return names


def has_augcli(group: str, label: str, names: dict[str, set[str]]) -> bool:
    if label in PENDING:
        return True
    if group == "annotations":  # "option (what it does)": every word before the parenthesis is an option/value
        words = label.split("(")[0].replace(":", " ").replace(",", " ").replace("/", " ").split()
        return all(w in names["annotations"] for w in words)
    return label in names[AUGCLI_MODULE[group]]


def alternatives(ref: str) -> list[str]:
    return [r.split("(")[0].strip() for r in ref.split(" / ")] if ref else []


def mapped(lib: str) -> set[str]:
    out = set()
    for group, rows in GROUPS.items():
        if lib in LIBS[group]:
            k = LIBS[group].index(lib) + 1
            out |= {a for r in rows for a in alternatives(r[k])}
    return out


def steps_of(lib: str, have: set[str]) -> set[str]:
    return {n for n in have if n not in NOT_STEPS or n in KEEP.get(lib, ())}


def cell(ref: str, have: set[str]) -> str:
    parts = [p for p in ref.split(" / ") if p and p.split("(")[0].strip() in have] if ref else []
    return "✓ " + " / ".join(parts) if parts else "✗"


def table(group: str, libs: dict, names: dict) -> list[str]:
    cols = LIBS[group]
    lines = ["| augcli | " + " | ".join(TITLES[c] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for row in GROUPS[group]:
        label = row[0] if group == "annotations" else f"`{row[0]}`"
        cells = [cell(r, libs[c][1]) for c, r in zip(cols, row[1:])]
        lines.append(f"| {'✓' if has_augcli(group, row[0], names) else '✗'} {label} | " + " | ".join(cells) + " |")
    if group != "annotations":  # every transform no row maps gets a row of its own (augcli ✗)
        extra = {c: steps_of(c, libs[c][1]) - mapped(c) for c in cols}
        for n in sorted(set().union(*extra.values()), key=str.lower):
            lines.append("| ✗ | " + " | ".join(f"✓ {n}" if n in extra[c] else "✗" for c in cols) + " |")
    return lines


def summary(group: str, lines: list[str]) -> str:
    rows = [ln.split(" | ") for ln in lines[2:]]
    cols = ("augcli",) + LIBS[group]
    got = [sum(r[k].lstrip("| ").startswith("✓") for r in rows) for k in range(len(cols))]
    return f"{len(rows)} rows: " + ", ".join(f"{TITLES.get(c, c)} {n}" for c, n in zip(cols, got))


def check(libs: dict) -> None:
    for lib, (_, have) in libs.items():
        missing = sorted(mapped(lib) - have)
        if missing:
            print(f"{lib}: mapped but not in its list: {', '.join(missing)}", file=sys.stderr)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", action="append", default=[], help="another interpreter to introspect with")
    ap.add_argument("--check", action="store_true", help="report mapped names a library does not have")
    a = ap.parse_args(argv)
    libs = measure([sys.executable] + a.python)
    names = augcli_names()
    pending = sorted(p for p in PENDING if p not in names["image"])
    if pending:
        print(f"counted as present (another branch): {', '.join(pending)}", file=sys.stderr)
    print("Measured with " + ", ".join(f"{TITLES[k]} {v[0]}" for k, v in libs.items()) + ".")
    for group in GROUPS:
        lines = table(group, libs, names)
        print(f"\n**{group.capitalize()}** ({summary(group, lines)})\n")
        print("\n".join(lines))
    left = "; ".join(f"{TITLES[k]}: {', '.join(sorted(have - steps_of(k, have)))}" for k, (_, have) in libs.items())
    print(f"\nLeft out (base classes, conversions, containers, no-ops, 3-D): {left}.")
    if a.check:
        check(libs)


if __name__ == "__main__":
    main()
