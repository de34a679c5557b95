"""`pipeline_models.aggregate` keeps the import path of :mod:`pipeline_models.data.aggregate`."""

import sys

from pipeline_models.data import aggregate as _module

sys.modules[__name__] = _module
