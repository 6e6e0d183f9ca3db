"""Command groups kept out of ``cli.py`` (DESIGN: split the CLI by command group as it grows); each
module's commands are added to the ``auditor`` group at the end of ``cli.py``."""
