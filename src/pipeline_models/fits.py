"""`pipeline_models.fits` keeps the import path of :mod:`pipeline_models.models.period`."""

import sys

from pipeline_models.models import period as _module

sys.modules[__name__] = _module
