"""``python -m certops_lab_a2c DIR``: the back-end server (see ``certops_lab_a2c.server``)."""

from certops_lab_a2c.server import main

raise SystemExit(main())
