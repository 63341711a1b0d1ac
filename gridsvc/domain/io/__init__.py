"""Files in and out: cell layers and point files read and checked before anything is written.

- :mod:`~gridsvc.domain.io.cells_io`: cell layers (GeoJSON, Shapefile, GeoPackage) for import.
- :mod:`~gridsvc.domain.io.cells_file`: cells from any vector file as Arrow and shapely, for
  file-mode ``gridsvc assign``.
- :mod:`~gridsvc.domain.io.points_io`: point files (CSV, GeoJSON, GeoParquet) in, the same rows
  with their cells out.
- :mod:`~gridsvc.domain.io.arrow_io`: the Arrow helpers both share (reading, checking, naming
  rows as a spreadsheet user counts them).
"""
