"""The processes that run stored jobs: the solve worker (:mod:`app.jobs.worker`) and the
one-job child it starts (:mod:`app.jobs.runner`). The queue itself is :mod:`app.db.queue`."""
