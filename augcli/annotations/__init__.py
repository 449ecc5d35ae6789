"""Annotated images: boxes, polygons, keypoints and masks that move with the pixels.

The `image-annotated` modality (modalities/annotated.py) runs an image recipe on a dataset whose
images come with annotations, and writes them in the same format and layout. This package holds
what it needs beside the image pipeline:

    options.py   the recipe's `annotations:` value (a format name or a mapping), validated
    model.py     Obj and Annotation: what every format reads into and writes from (in pixels)
    format.py    the base class of a format: its layout, reading one image's annotation, writing one output's
    formats.py   the registry: auto-detection, opening an input (or an output, for report and stats)
    yolo.py      Ultralytics YOLO label files: read (strict, line by line), write; data.yaml
    coco.py      COCO instances JSON (--coco): per-output parts, annotations/instances_<split>.json at the end
    cocojson.py  the COCO file read once (checked), one annotation to an Obj (strict) and back, RLE
    voc.py       Pascal VOC XML (+ SegmentationClass PNGs): read (strict, per object), write; ImageSets
    geometry.py  objects through the pipeline's warps: polygon clipping, visibility, keypoints, mirrors
    masks.py     semantic masks (class-index PNGs, 8/16-bit or palette): read, warp (nearest), write

Heavy libraries (numpy, OpenCV, Pillow, PyYAML) are imported where they are used.
"""
