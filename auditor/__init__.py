"""wecom-auditor: a nightly compliance auditor for WeCom session-archive exports."""

__version__ = "0.1.0"
