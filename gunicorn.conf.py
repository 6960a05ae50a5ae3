"""gunicorn reads this file from the working directory (the Procfile's web process)."""

from dorset_bcp import log_filters


def on_starting(server):
    # gunicorn configures its own loggers, not through Django's LOGGING: the guest tracking
    # token is taken out of the access log's request line and Referer here, before any worker
    # is forked, so every worker inherits the filter.
    log_filters.install(("gunicorn.access", "gunicorn.error"))
