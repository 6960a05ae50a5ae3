"""Logging filters: a guest's private tracking link never reaches a log.

The link /report/track/<token>/ is the guest's only key to their report, so it is a secret. It
would otherwise be written by the access log (gunicorn.access, django.server: the request line
and the Referer of every page and stylesheet it loads) and by Django's "Not Found" warnings
(django.request). The filter is installed on those loggers (LOGGING in settings, and
gunicorn.conf.py for gunicorn's own) and rewrites the message with the token replaced.
"""

import logging
import re

TRACKING_LINK = re.compile(r"(/report/track/)[^/\s?#\"']+")
REDACTED = r"\1[token]"
# The loggers that write request lines, paths or Referer headers.
REQUEST_LOGGERS = ("django.request", "django.server", "gunicorn.access", "gunicorn.error")


def redact(text: str) -> str:
    """The text with every guest tracking token replaced by [token]."""
    return TRACKING_LINK.sub(REDACTED, text)


class RedactTrackingTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the handler's to report, not ours
            return True
        redacted = redact(message)
        if redacted != message:
            # The message is formatted once, here: msg % args would otherwise put it back.
            record.msg, record.args = redacted, None
        return True


def install(logger_names=REQUEST_LOGGERS) -> None:
    """Put the filter on loggers another library configures (gunicorn's)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTrackingTokens) for f in logger.filters):
            logger.addFilter(RedactTrackingTokens())
