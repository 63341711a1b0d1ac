"""gridsvc: police grid x governance grid fusion on PostGIS."""

__version__ = "0.1.0"
