"""The optional C extension augcli._planes (JPEG <-> YCbCr planes through the system's libjpeg, and a warp;
see augcli/_planes.c). `optional=True`: without a compiler or libjpeg's headers (Debian:
libjpeg-dev), the install still succeeds and augcli decodes every image with OpenCV."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("augcli._planes", ["augcli/_planes.c"], libraries=["jpeg"],
                             extra_compile_args=["-O2", "-ffp-contract=off"], optional=True)])
