"""`pipeline_models.problems` keeps the import path of :mod:`pipeline_models.contract.problems`."""

import sys

from pipeline_models.contract import problems as _module

sys.modules[__name__] = _module
