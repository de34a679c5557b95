"""The pipeline overview: volume, stage mix, status and amounts, by month and product."""

from pipeline_models.analyses.overview.charts import plot_monthly_volume, plot_revenue_by_product
from pipeline_models.analyses.overview.figures import (
    monthly_volume,
    product_table,
    stage_mix,
    status_table,
    win_rate,
)

__all__ = [
    "monthly_volume",
    "plot_monthly_volume",
    "plot_revenue_by_product",
    "product_table",
    "stage_mix",
    "status_table",
    "win_rate",
]
