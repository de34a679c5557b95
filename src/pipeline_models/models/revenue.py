"""`pipeline_models.models.revenue` keeps the import path of :mod:`pipeline_models.models.hierarchical.revenue`."""

import sys

from pipeline_models.models.hierarchical import revenue as _module

sys.modules[__name__] = _module
