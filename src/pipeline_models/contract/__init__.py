"""The contract every layer shares: canonical tables, problems, labels and the reference date."""
