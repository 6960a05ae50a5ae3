"""Settings for the Dorset Business Crime Partnership portal, read from the environment.

With nothing set this runs the zero-setup default: SQLite and a Celery transport that keeps its
messages in files, so no servers are needed. Production sets the variables in .env.example.
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str, load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")
VAR_DIR = Path(env_str("DJANGO_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)

if DEBUG:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "development-only-not-secret-" + "x" * 30)
else:
    # No default: a production server must never run with a key that is in the repository.
    SECRET_KEY = env_str("DJANGO_SECRET_KEY")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters long.")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_ID = 1

INSTALLED_APPS = [
    "dorset_bcp.apps.PortalAdminConfig",  # django.contrib.admin, filters guarded
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "crispy_forms",
    "crispy_bootstrap5",
    "engagement",
    "escalation",
    "resources",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # First in, last out: every page gets the policy, the 413 page and admin pages included.
    "csp.middleware.CSPMiddleware",
    # Before anything reads the body: an oversized request is refused from its Content-Length.
    "dorset_bcp.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: whether the page is someone's own decides Cache-Control.
    "dorset_bcp.middleware.PrivacyHeadersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: a person signed out for being idle is told why on the next page.
    "dorset_bcp.middleware.SessionPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After sessions, authentication and messages: a screen that shows other people's details
    # first asks for the second sign-in step (dorset_bcp.two_factor).
    "dorset_bcp.two_factor.TwoFactorMiddleware",
]

ROOT_URLCONF = "dorset_bcp.urls"
WSGI_APPLICATION = "dorset_bcp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "escalation.context_processors.partnership_nav",
                "dorset_bcp.two_factor.context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The zero-setup default has web, worker and beat writing to one file: WAL lets readers
    # carry on beside a writer, IMMEDIATE takes the write lock up front instead of failing
    # half-way, and the timeout waits for it rather than raising "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dorset_bcp",
        }
    }

AUTH_USER_MODEL = "engagement.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "engagement:my_dashboard"

# django-allauth: people sign in with their email address and must verify it.
ACCOUNT_LOGIN_METHODS = {"email"}
# Each person lands where they work: staff in the admin, members on /partnership/, owners on /my/.
ACCOUNT_ADAPTER = "dorset_bcp.account_adapter.AccountAdapter"
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Dorset Business Crime] "
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
# allauth's forms with the email address bounded to the 254 characters its column holds.
ACCOUNT_FORMS = {
    "signup": "engagement.forms.PortalSignupForm",
    "add_email": "engagement.forms.PortalAddEmailForm",
    "change_email": "engagement.forms.PortalChangeEmailForm",
    "reset_password": "engagement.forms.PortalResetPasswordForm",
}

# Two-step sign-in (allauth.mfa; dorset_bcp.two_factor): a code from an authenticator app, with
# recovery codes for a lost phone. Staff, Co-ordinating Group and Partnership members and Watch
# scheme coordinators must set it up before their screens; owners may opt in. Wrong codes count
# towards allauth's sign-in failure limits, as wrong passwords do.
TWO_FACTOR_REQUIRED = env_bool("DJANGO_TWO_FACTOR_REQUIRED", True)
if not DEBUG and not TWO_FACTOR_REQUIRED:
    # Reporters' names, phones and addresses are behind these screens: a production server
    # never runs them on a password alone.
    raise ImproperlyConfigured("DJANGO_TWO_FACTOR_REQUIRED can be turned off only with DEBUG on.")
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Dorset Business Crime"
MFA_ADAPTER = "dorset_bcp.two_factor.MFAAdapter"
MFA_FORMS = {
    "authenticate": "engagement.forms.PortalAuthenticateForm",
    "reauthenticate": "engagement.forms.PortalReauthenticateForm",
    "activate_totp": "engagement.forms.PortalActivateTOTPForm",
}
# Throttles (allauth's rate limiter; dorset_bcp/throttles.py counts the portal's own forms in the
# same cache). "amount/period/per": per client address (ip), per signed-in account (user) or per
# key: an account, a guest's report or an email address. Emails from the public forms are
# capped per address, so no one can use the portal to flood a mailbox.
ACCOUNT_RATE_LIMITS = {
    # allauth's views.
    "login": "30/m/ip",
    # Failed sign-ins, per address and per account: once an account's budget is used up the
    # password alone is refused, and the owner signs in with an emailed code instead
    # (ACCOUNT_LOGIN_BY_CODE_ENABLED), so a stranger's guesses cannot lock them out.
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,3/h/key",
    "reset_password_from_key": "20/m/ip",
    # Sign-in codes: more than the other emails' 3 an hour, as the code is how an owner gets
    # past a stranger's failed guesses; 3 a quarter-hour still stops a flood.
    "request_login_code": "20/m/ip,3/15m/key",
    "manage_email": "10/m/user",
    "change_password": "5/m/user",
    "reauthenticate": "10/m/user",
    "confirm_email": "1/3m/key",
    # Every other email allauth sends (sign-up confirmation, "you already have an account",
    # email change confirmation), per kind of email and address.
    "account_email": "3/h/key",
    # The portal's own (dorset_bcp/throttles.py).
    "guest_report": "10/h/ip",
    "report_email": "3/h/key",
    "guest_link": "60/m/ip",
    "guest_link_miss": "20/h/ip",
    # A guest asking for their private link again (engagement.views.guest_link): per address,
    # and per email address, a budget of its own so guesses never pause that address's reports.
    "guest_link_resend": "10/h/ip,3/h/key",
    "reply": "20/m/ip,20/h/key",
    "upload": "20/h/ip,10/h/key",
}
# A person who cannot use their password (forgotten, or paused after failures) gets a one-time
# code by email on the sign-in page.
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
# The client address for the throttles: behind N proxies that each append to X-Forwarded-For
# (nginx: proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for), the Nth address from the
# right. 0 (the default) ignores the header, which a client can write itself.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 0)
if not 0 <= ALLAUTH_TRUSTED_PROXY_COUNT <= 5:
    raise ImproperlyConfigured("DJANGO_TRUSTED_PROXY_COUNT must be between 0 and 5.")
# Or a load balancer that puts the client's address in a header of its own (e.g. X-Real-IP),
# which it overwrites on every request; a request without it falls back to the connection.
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env_str("DJANGO_TRUSTED_CLIENT_IP_HEADER", "") or None

LANGUAGE_CODE = "en-gb"
# Sentence case for allauth's Title Case strings (locale/en/LC_MESSAGES/django.po).
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Uploaded attachments are private: they are served only through views that check access.
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Uploads: a report may carry a handful of photos, stills or PDFs.
ATTACHMENT_MAX_FILES = 5
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
# 50 megapixels takes a phone camera's largest photo (8160 × 6120) while a small file that
# unpacks into gigabytes of pixels is refused before it is decoded.
ATTACHMENT_MAX_PIXELS = 50_000_000
# The largest request the portal reads at all (dorset_bcp.middleware.RequestSizeLimitMiddleware):
# every attachment at its largest plus room for the form's text; anything bigger is refused
# from its Content-Length, before a byte of the body is received.
REQUEST_MAX_BYTES = ATTACHMENT_MAX_FILES * ATTACHMENT_MAX_BYTES + 1024 * 1024
# A form's text fields (not its files) held in memory: the longest form is a few 5,000-character
# answers, so 1 MB is generous; beyond it Django refuses the request.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# Well above the form's own limit (ATTACHMENT_MAX_FILES), so the form explains too many files
# and keeps what was typed; only a flood beyond this is refused with the 400 page.
DATA_UPLOAD_MAX_NUMBER_FILES = 100
# Files above 2 MB are streamed to a temporary file, not held in memory while they are checked.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
# For DJANGO_EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend (CI's production
# smoke test reads the emails the worker wrote there).
EMAIL_FILE_PATH = env_str("DJANGO_EMAIL_FILE_PATH", str(VAR_DIR / "emails"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
# Longer than the 60 s a busy relay may take to confirm a message: a send cut short after the
# data went out has an unknown outcome and waits half an hour (engagement/emails.py).
EMAIL_TIMEOUT = 75
# Who gets the daily summary when portal emails have failed (comma-separated); empty means
# every active superuser.
OUTBOX_ALERT_EMAILS = env_list("DJANGO_OUTBOX_ALERT_EMAILS")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Dorset Business Crime <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery. With REDIS_URL the broker is Redis; without it, kombu's filesystem transport keeps
# messages in var/celery so `make run` needs no server.
# A frozen or half-open Redis accepts the connection and then never answers: without socket
# timeouts every publish after commit would hang the request for as long as the kernel waits.
# One second per socket operation, and one quick retry at most, bound what a person waits.
REDIS_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 1,
    "socket_timeout": 1,
    "socket_keepalive": True,
    "retry_on_timeout": False,
    "health_check_interval": 25,
    # How a publisher reconnects to a Redis that went away: once, at once (kombu's failover
    # options; the default waits 2 s between tries).
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
else:
    _celery_dir = VAR_DIR / "celery"
    for _sub in ("queue", "processed", "control"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
        # How often an idle worker looks in the folder (kombu's default is 1 s). A worker busy
        # with its prefetched tasks also waits this long before looking again, so 1 s held the
        # zero-setup default to a couple of tasks a second; a tenth is a cheap directory listing.
        "polling_interval": 0.1,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 1
# Publishing is retried once, briefly; the outbox row and the once-a-minute sweep are the real
# retry, so a web request never waits on a broker that is down.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Every periodic job, in one place. Each is safe to run twice and beside itself.
CELERY_BEAT_SCHEDULE = {
    # Emails are written to the database with the change that causes them; this sweep sends
    # whatever a lost or refused broker message left behind. Once a minute keeps the delay short.
    "deliver-pending-emails": {
        "task": "engagement.tasks.deliver_pending_emails",
        "schedule": 60.0,
    },
    # Guest reports never confirmed from the email are removed after a week (no personal data
    # is kept for reports nobody stands behind). Nightly is plenty.
    "purge-unconfirmed-guest-reports": {
        "task": "engagement.tasks.purge_unconfirmed_guest_reports",
        "schedule": crontab(hour=3, minute=15),
    },
    # Files held for report forms nobody sent go after a day (HELD_ATTACHMENT_HOURS). Hourly
    # keeps the longest any such photo lingers to about 25 hours; an idle run is one query.
    "purge-held-attachments": {
        "task": "engagement.tasks.purge_held_attachments",
        "schedule": crontab(minute=20),
    },
    # Sent emails are deleted after 30 days (and ones that gave up retrying, likewise): the
    # outbox is a delivery queue, not an archive of personal data. Nightly is plenty.
    "purge-sent-emails": {
        "task": "engagement.tasks.purge_sent_emails",
        "schedule": crontab(hour=3, minute=30),
    },
    # Administrators hear once a day, first thing, if any email failed after its three days
    # of retries or has waited too long; nothing is sent when all is well.
    "summarise-email-failures": {
        "task": "engagement.tasks.summarise_email_failures",
        "schedule": crontab(hour=8, minute=0),
    },
    # A new alert is emailed by a task published when it is posted; if the broker lost that
    # message, this sends it within a few minutes. An idle run is one indexed query.
    "send-unqueued-watch-alerts": {
        "task": "resources.tasks.send_unqueued_alerts",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    # Watch scheme members who chose a weekly digest get the week's alerts in one email.
    # Monday 07:30 puts it in the inbox at the start of the working week; each member is stamped
    # with the week and each alert recorded when sent, so a second run sends nothing twice, and
    # a late run catches up.
    "send-watch-alert-digests": {
        "task": "resources.tasks.send_alert_digests",
        "schedule": crontab(day_of_week="mon", hour=7, minute=30),
    },
    # An alert's expiry is recorded in its history once it passes (the page and the digest
    # read the expiry time itself, so nothing waits on this). Every five minutes keeps the
    # record within minutes of the time; an idle run is one empty index probe, and each
    # alert is claimed with its event, so a second or overlapping run records nothing twice.
    "record-expired-watch-alerts": {
        "task": "resources.tasks.record_expired_alerts",
        "schedule": 300.0,
        "options": {"expires": 270},
    },
    # Seminar reminders go the day before. Hourly through the working day also catches places
    # booked or freed up during that day; each booking is marked when reminded, so only once.
    "send-seminar-reminders": {
        "task": "resources.tasks.send_seminar_reminders",
        "schedule": crontab(minute=0, hour="9-20"),
    },
    # Overdue items move up a tier, overdue ones at the top are flagged, owners are warned.
    # Deadlines fall at a time of day, so every five minutes keeps any item at most five
    # minutes late; an idle run is a few empty index probes. A message that waited longer than
    # the interval is dropped (expires): the next run does the same work from the database.
    "escalate-overdue": {
        "task": "escalation.tasks.escalate_overdue",
        "schedule": 300.0,
        "options": {"expires": 270},
    },
    # Expired sessions (idle 30 minutes for staff, 2 hours for owners) are refused already but
    # their rows stay until cleared; hourly keeps at most an hour of them, in one indexed DELETE.
    "clear-expired-sessions": {
        "task": "engagement.tasks.clear_expired_sessions",
        "schedule": crontab(minute=50),
        "options": {"expires": 3000},
    },
    # The insight page reads concern figures from a roll-up and says how fresh they are. Five
    # minutes is as fresh as anyone reading trends needs, and matches the overdue sweep whose
    # moves it counts; a refresh recounts only the days that changed (about a quarter of a
    # second at a million concerns), and a lost message is made good by the next run.
    "refresh-insight": {
        "task": "escalation.tasks.refresh_insight",
        "schedule": 300.0,
        "options": {"expires": 270},
    },
    # Nightly, the roll-up is rebuilt from scratch, so a count changed outside the portal's
    # services (a fix in the database, a restored backup) is right by morning. 02:45 runs
    # before the 03:15 and 03:30 purges, while nobody reads the figures.
    "rebuild-insight": {
        "task": "escalation.tasks.rebuild_insight",
        "schedule": crontab(hour=2, minute=45),
        "options": {"expires": 3000},
    },
    # The retention schedule (privacy.RetentionRule, edited in the admin): closed concerns
    # anonymised after their period, expired copies of people's data deleted. Nightly at 03:45,
    # after the other purges; each kind is done in batches that skip rows another run holds,
    # and each run writes a disposal log row per kind.
    "apply-retention-schedule": {
        "task": "privacy.tasks.apply_retention_schedule",
        "schedule": crontab(hour=3, minute=45),
        "options": {"expires": 3000},
    },
    # A request for a copy of one's data whose task the broker lost is built within ten
    # minutes; an idle run is one query.
    "build-pending-data-exports": {
        "task": "privacy.tasks.build_pending_data_exports",
        "schedule": 600.0,
        "options": {"expires": 540},
    },
    # Common themes build up over days (3 businesses in 28 days by default), so hourly finds
    # them soon enough for a group that meets weekly, at the cost of one GROUP BY an hour.
    "detect-themes": {
        "task": "escalation.tasks.detect_themes",
        "schedule": crontab(minute=40),
        "options": {"expires": 3000},
    },
}

HEALTHZ_BROKER_TIMEOUT = 2

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every page: scripts, styles and images only from the
# portal itself, so a script someone manages to store in a page never runs. No page has an
# inline script, inline style or style attribute (tests/browser/test_csp.py walks them in
# Chromium and fails on any violation), so there are no nonces and no 'unsafe-inline'. data:
# images are Bootstrap's own icons (select arrows, checkboxes), written into its stylesheet.
# Stored files (attachments, documents, data copies) carry a stricter sandboxed policy of their
# own (dorset_bcp/files.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True
# How long a signed-in session lasts (dorset_bcp.middleware.SessionPolicyMiddleware). Staff and
# Co-ordinating Group and Partnership members see reporters' names, phones and addresses, so an
# unattended screen signs out after 30 minutes and nobody stays signed in past a working day;
# business owners see only their own reports and keep 2 hours idle, 14 days at most.
SESSION_IDLE_STAFF_SECONDS = env_int("DJANGO_SESSION_IDLE_STAFF_SECONDS", 30 * 60)
SESSION_IDLE_OWNER_SECONDS = env_int("DJANGO_SESSION_IDLE_OWNER_SECONDS", 2 * 60 * 60)
SESSION_MAX_STAFF_SECONDS = env_int("DJANGO_SESSION_MAX_STAFF_SECONDS", 12 * 60 * 60)
SESSION_MAX_OWNER_SECONDS = env_int("DJANGO_SESSION_MAX_OWNER_SECONDS", 14 * 24 * 60 * 60)
# No "Remember me" box on the sign-in page: how long a session lasts is the policy above.
ACCOUNT_SESSION_REMEMBER = True
if not (
    60 <= SESSION_IDLE_STAFF_SECONDS <= SESSION_MAX_STAFF_SECONDS
    and 60 <= SESSION_IDLE_OWNER_SECONDS <= SESSION_MAX_OWNER_SECONDS
):
    raise ImproperlyConfigured(
        "Each DJANGO_SESSION_IDLE_*_SECONDS must be at least 60 and no more than its "
        "DJANGO_SESSION_MAX_*_SECONDS."
    )
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Demo accounts (seed_demo) are refused when this is on.
PRODUCTION = env_bool("DJANGO_PRODUCTION", not DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A guest's tracking token is a secret: it is taken out of request lines, paths and
    # Referer headers before any handler sees them (gunicorn's loggers: gunicorn.conf.py).
    "filters": {
        "redact_tracking_tokens": {"()": "dorset_bcp.log_filters.RedactTrackingTokens"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        # As Django's default, which configuring the django.server logger replaces.
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "loggers": {
        "django.request": {"filters": ["redact_tracking_tokens"]},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["redact_tracking_tokens"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
}

if DEBUG:
    # Serve static/ straight from the source folders while developing.
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
