"""The error a rejected client event becomes, raised by any of the connection's handlers."""

from __future__ import annotations


class ClientError(Exception):
    """A client event the API would reject; becomes an ``error`` event, the socket stays."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
