"""Coverage: who a police office can reach on foot, what cameras see, and the roads between.

- :mod:`~gridsvc.domain.coverage.office_coverage`: residents within a walk of a police office,
  and where new offices would cover most.
- :mod:`~gridsvc.domain.coverage.camera_coverage`: camera sectors and how much of every grid
  and compound they see.
- :mod:`~gridsvc.domain.coverage.road_network`: the road layer as a graph, walking distances.
"""
