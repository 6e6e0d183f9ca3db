"""Compliance reports: one self-contained HTML page per group, an index, and summary.json."""
