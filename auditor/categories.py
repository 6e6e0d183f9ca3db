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
# Categories whose detector pairs rules with a learned model trained for precision first
# (abuse has a model too, trained and configured on its own).
LEARNED_CATEGORIES = ("rumor", "ad")
