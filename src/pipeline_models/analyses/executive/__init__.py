"""The executive page: the forecast against the target, why it moved since last month's run, the
top risks and the largest levers, read from what a run's reports wrote."""
