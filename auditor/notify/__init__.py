"""Notifications: group summaries after the nightly run and notices about a person's warning or public
criticism, by e-mail (SMTP) and WeCom application messages, sent once and recorded in the ledger."""
