"""Coordinates and geometry shared by every capability (pure: no database, no I/O).

- :mod:`~gridsvc.domain.geo.coords`: input CRSs (EPSG codes, WGS84, CGCS2000, the GCJ-02 and
  BD-09 offsets of Chinese web maps) to CGCS2000 lon/lat, lon/lat checks, a local metric CRS.
- :mod:`~gridsvc.domain.geo.synthetic`: synthetic cities (irregular cells tiling a square
  exactly) and points, for benchmarks and exactness tests.
"""
