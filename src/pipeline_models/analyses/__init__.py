"""The analyses behind the four reports and the overview: pure computation on canonical tables
and fits, then reader tables, charts and narrative beside it (one subpackage per report)."""
