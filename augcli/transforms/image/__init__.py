"""Image steps, by family, and the pipeline that fuses them.

    common.py     array conventions (maxval, channels), the lazy cv2 import, `Size` (a step's context)
    geometric.py  flips, rotate, shift, shear, zoom, crops, resize: each a 3x3 matrix (`matrix`)
    perspective.py  perspective: a random four-point warp, a projective matrix that fuses like the others
    warp.py       one interpolation by a matrix: flips, crops and resizes exactly, else one warpAffine
                  (a projective matrix: one warpPerspective)
    colour.py     brightness, contrast, saturation, hue, color_jitter, channel_shift, grayscale:
                  each a 3x4 RGB matrix (`rgb_matrix`), applied in one pass
    pixel.py      gamma, gaussian_noise, gaussian_blur, cutout, custom: applied one by one
    filters.py    sharpen, median_blur, motion_blur, clahe, jpeg_quality, downscale,
                  random_grayscale, channel_shuffle: applied one by one
    distort.py    elastic, grid_distortion: one cv2.remap each (no matrix, no planar form, no annotations)
    mixing.py     mixup and cutmix on an image and its partner (the draws: transforms/mix.py)
    planar.py     the same steps on a JPEG's YCbCr planes (JPEG -> JPEG jobs)
    pipeline.py   the registry (STEPS, validate_steps), one_of, and `Pipeline`, which fuses
                  consecutive geometric steps into one warp and colour steps into one matrix

Every step follows the contract of transforms/base.py: `sample(rng, Size(w, h)) -> params`, then
`apply(image, params)`, pure. Images are numpy arrays as OpenCV decodes them (see common.py).
"""
from .colour import (Brightness, ChannelShift, ColorJitter, ColorStep, Contrast, Grayscale, Hue,  # noqa: F401
                     Saturation, apply_color_matrix, mean_rgb)
from .common import LUMA, Size, channels, maxval, px  # noqa: F401
from .geometric import (CenterCrop, Geometric, HFlip, RandomCrop, RandomResizedCrop, Resize, Rotate,  # noqa: F401
                        Shear, Shift, VFlip, Zoom)
from .mixing import CutMix, MixUp, match_partner  # noqa: F401
from .pipeline import ALIASES, STEPS, OneOf, Pipeline, make_step, validate_steps  # noqa: F401
from .pixel import NOISE, Custom, Cutout, GaussianBlur, GaussianNoise, Gamma, PixelStep, load_callable  # noqa: F401
from .warp import warp  # noqa: F401
