"""`pipeline_models.models.base` keeps the import path of :mod:`pipeline_models.models.hierarchical.base`."""

import sys

from pipeline_models.models.hierarchical import base as _module

sys.modules[__name__] = _module
