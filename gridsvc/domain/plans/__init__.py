"""Drafts of a plan: edits of their cells and the checks of what changed.

- :mod:`~gridsvc.domain.plans.plan_edits`: split, merge, reshape cells; identity of new cells.
- :mod:`~gridsvc.domain.plans.plan_checks`: a draft's changed cells checked against its base.
"""
