"""picops_cli: the ``picops`` command. Each command only wires library pieces together."""
