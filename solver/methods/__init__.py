"""The solve methods, one module each; :func:`solver.solve.solve` runs the prechecks and chooses.

Each method takes one frozen :class:`~solver.methods.context.Context` (the problem, the options,
the backend, the clock, the tolerance, the progress report) and returns an
:class:`~solver.methods.context.Outcome`:

- :mod:`~solver.methods.set_partitioning`: every connected area that fits is listed, and the
  set-partitioning model picks one per organiser (exact; an infeasible LP proves no plan exists);
- :mod:`~solver.methods.cut_loop`: the assignment model, solved again and again with contiguity
  cuts for the areas that came out in pieces;
- :mod:`~solver.methods.branch_and_cut`: the same assignment model in SCIP, contiguity cuts added
  inside one search tree by a constraint handler (:mod:`~solver.methods.contiguity`);
- :mod:`~solver.methods.relaxed_search`: for layers too large for that model, the bound of the LP
  without contiguity and a neighbourhood search;
- :mod:`~solver.methods.balance`: the *auto* tolerance, a bisection whose probes ask the others
  for any plan.

:mod:`~solver.methods.starts` makes the cheap starting plans all of them share.
"""
