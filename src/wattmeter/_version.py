"""The package version (single source for pyproject and wattmeter_build_info)."""

__version__ = "0.2.0"

#: The estimation method a ledger row, a footprint and a report name (the package version
#: plus the life-cycle and serving-regime methods' revisions; docs/regimes.md "Versions"
#: says what each revision counts; scripts/method-diff compares two).
METHOD_VERSION = f"wattmeter/{__version__}; lifecycle/2; regimes/3"
