"""`python -m auditor.cli`, as when this package was one module."""

from auditor.cli import main

main()
