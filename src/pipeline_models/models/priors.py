"""`pipeline_models.models.priors` keeps the import path of :mod:`pipeline_models.models.hierarchical.priors`."""

import sys

from pipeline_models.models.hierarchical import priors as _module

sys.modules[__name__] = _module
