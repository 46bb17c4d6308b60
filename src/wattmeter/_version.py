"""The package version (single source for pyproject and wattmeter_build_info)."""

__version__ = "0.2.0"
