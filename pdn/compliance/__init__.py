"""Continuous compliance: the control catalog, waivers and (later) the reports `pdn comply` makes
from the testinfra suite in tests/compliance/."""
