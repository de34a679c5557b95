"""`pipeline_models.schema` keeps the import path of :mod:`pipeline_models.contract.schema`."""

import sys

from pipeline_models.contract import schema as _module

sys.modules[__name__] = _module
