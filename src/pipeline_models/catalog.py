"""`pipeline_models.catalog` keeps the import path of :mod:`pipeline_models.run.layout`."""

import sys

from pipeline_models.run import layout as _module

sys.modules[__name__] = _module
