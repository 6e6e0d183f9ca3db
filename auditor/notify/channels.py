"""What every delivery channel shares: the error that marks a failed delivery."""

from __future__ import annotations


class DeliveryError(Exception):
    """A notice could not be delivered now (server down, refused, bad credentials): it is not recorded
    as sent, so the next run tries again. ``permanent`` marks what retrying cannot fix (the recipient
    does not exist for the channel)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
