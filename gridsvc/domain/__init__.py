"""The pure rules of gridsvc (no database, no web, no printing), one subpackage per capability.

- :mod:`~gridsvc.domain.geo`: coordinates and CRSs; synthetic cities.
- :mod:`~gridsvc.domain.io`: cell and point files in and out.
- :mod:`~gridsvc.domain.assign`: which cell of a layer covers each point.
- :mod:`~gridsvc.domain.address`: addresses, house numbers, numbering, the house register.
- :mod:`~gridsvc.domain.plans`: edits of a draft plan and their checks.
- :mod:`~gridsvc.domain.districting`: balanced districting of blocks into regions.
- :mod:`~gridsvc.domain.coverage`: police office and camera coverage, walking along roads.
- :mod:`~gridsvc.domain.reports`: grid/beat fusion, staffing, colour warnings.
- :mod:`~gridsvc.domain.demo_town`: the synthetic demo town.
- :mod:`~gridsvc.domain.accounts`, :mod:`~gridsvc.domain.events`, :mod:`~gridsvc.domain.duty`:
  the rules of accounts, events and duty.
- :mod:`~gridsvc.domain.accounts`: roles, scopes, passwords and bearer tokens.
"""
