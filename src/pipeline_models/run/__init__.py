"""The monthly run: archive, validate, prepare the named datasets, fit once, execute the report
notebooks, render and publish atomically. ``runner.run`` is the list of steps."""
