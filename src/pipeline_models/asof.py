"""`pipeline_models.asof` keeps the import path of :mod:`pipeline_models.data.asof`."""

import sys

from pipeline_models.data import asof as _module

sys.modules[__name__] = _module
