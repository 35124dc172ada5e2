"""`make bench`: Beebeta against the ceilings of the machine and the framework (bench/run.py)."""
