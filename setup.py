"""The optional C extension augcli._jpeg (JPEG <-> YCbCr planes through the system's libjpeg;
see augcli/_jpeg.c). `optional=True`: without a compiler or libjpeg's headers (Debian:
libjpeg-dev), the install still succeeds and augcli decodes every image with OpenCV."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("augcli._jpeg", ["augcli/_jpeg.c"], libraries=["jpeg"],
                             extra_compile_args=["-O2"], optional=True)])
