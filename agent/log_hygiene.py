"""Log records that may carry a URL with credentials in it lose the credentials.

livekit-agents logs "registered worker" with the LiveKit URL as a structured field; a
`wss://user:password@host` there would land in every log store. The filter rewrites string
fields and arguments of records on the loggers it is installed on.
"""

from __future__ import annotations

import logging

from sip.redaction import strip_url_credentials

# loggers known to log a URL we were given (worker registration, connection retries)
URL_LOGGING_LOGGERS = ("livekit.agents", "livekit")


class UrlCredentialsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in list(vars(record).items()):
            if isinstance(value, str) and "://" in value and "@" in value:
                setattr(record, key, strip_url_credentials(value))
        if isinstance(record.args, tuple):
            record.args = tuple(strip_url_credentials(a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def install_url_credentials_filter() -> None:
    for name in URL_LOGGING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, UrlCredentialsFilter) for f in logger.filters):
            logger.addFilter(UrlCredentialsFilter())
