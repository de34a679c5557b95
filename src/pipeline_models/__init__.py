"""Pipeline Workbench: Bayesian models and reports for sales pipelines."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pipeline-workbench")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+local"
