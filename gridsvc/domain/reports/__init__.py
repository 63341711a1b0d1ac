"""Reports over a plan's cells: how they fit together, who staffs them, where the risk is.

- :mod:`~gridsvc.domain.reports.fusion`: police grid x governance grid, the crosswalk of grids
  and beats, and the mismatches (:class:`~gridsvc.domain.reports.fusion.Finding`).
- :mod:`~gridsvc.domain.reports.staffing`: the staffing standard per beat, grid, office and
  station.
- :mod:`~gridsvc.domain.reports.risk`: colour warnings (分色预警) from incident rates.
"""
