"""`pipeline_models.models.winrate` keeps the import path of :mod:`pipeline_models.models.hierarchical.winrate`."""

import sys

from pipeline_models.models.hierarchical import winrate as _module

sys.modules[__name__] = _module
