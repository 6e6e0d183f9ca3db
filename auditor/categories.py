"""The fixed vocabularies of DESIGN.md, in a module light enough for the CLI to import."""

FINDING_CATEGORIES = (
    "profanity",
    "abuse",
    "illegal",
    "rumor",
    "confidential",
    "secret",
    "pii",
    "malicious_link",
    "ad",
    "flooding",
    "quarrel",
    "membership",
)
GROUP_CATEGORIES = ("internal", "project", "customer")
SEVERITIES = ("low", "medium", "high", "critical")
