"""`pipeline_models.models.cycletime` keeps the import path of :mod:`pipeline_models.models.hierarchical.cycletime`."""

import sys

from pipeline_models.models.hierarchical import cycletime as _module

sys.modules[__name__] = _module
