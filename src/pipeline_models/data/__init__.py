"""Model inputs and the data behind them:
sufficient statistics, the pipeline as of a past date, synthetic exports with known truth."""
