"""`pipeline_models.runner` keeps the import path of :mod:`pipeline_models.run.runner`."""

import sys

from pipeline_models.run import runner as _module

sys.modules[__name__] = _module
