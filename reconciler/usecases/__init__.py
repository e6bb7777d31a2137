"""The use cases: validate, plan, apply, drift and import, each a function of a ``Session``.

They join the layers (files through ``desired``, nodes through ``drivers``, the pure core on
plain data, ``apply``'s executor) and return data (``ValidateResult``, ``PlanRun``,
``ApplyRun``, ``DriftReport``, ``ImportResult``) that ``reconciler.report`` renders. Nothing
here prints; the CLI wires options to a session, a use case and a renderer.
"""
