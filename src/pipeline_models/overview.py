"""`pipeline_models.overview` keeps the import path of :mod:`pipeline_models.analyses.overview`."""

import sys

from pipeline_models.analyses import overview as _module

sys.modules[__name__] = _module
