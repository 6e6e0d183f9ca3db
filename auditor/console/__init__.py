"""The review console (``auditor serve``): a small ASGI application over the workspace."""
