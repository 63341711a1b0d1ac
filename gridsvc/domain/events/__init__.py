"""Events (事件): what grid workers report, and the rules that carry a report to closure.

- :mod:`~gridsvc.domain.events.catalogue`: the two-level category catalogue and the grades.
- :mod:`~gridsvc.domain.events.states`: the loop as a state machine (立案, 派遣, 处置, 核查, 结案,
  退回, 上报), :func:`~gridsvc.domain.events.states.apply`.
- :mod:`~gridsvc.domain.events.routing`: who handles an event, from its cells, category and
  grade, :func:`~gridsvc.domain.events.routing.route`.
- :mod:`~gridsvc.domain.events.limits`: time limits per step and the deadline of an event.
"""
