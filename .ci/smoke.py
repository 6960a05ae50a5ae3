"""Smoke test of a running production build, over HTTP, with the standard library only.

    python .ci/smoke.py http://127.0.0.1:8765 /path/to/email/folder

The portal is expected behind a TLS-terminating proxy (DJANGO_BEHIND_TLS_PROXY=1), so every
request says it arrived over HTTPS, as the proxy would. Exits non-zero with a message naming the
first thing that is wrong; prints one line per check that held.
"""

import datetime as dt
import http.client
import json
import re
import secrets
import sys
import time
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

# What `manage.py check --deploy` promises on every response to a secure request.
SECURITY_HEADERS = {
    "Strict-Transport-Security": re.compile(r"max-age=\d{7,}"),
    "X-Content-Type-Options": re.compile(r"^nosniff$"),
    "X-Frame-Options": re.compile(r"^DENY$"),
    "Referrer-Policy": re.compile(r"same-origin"),
    "Cross-Origin-Opener-Policy": re.compile(r"^same-origin$"),
    # The portal's own (dorset_bcp/middleware.py).
    "Permissions-Policy": re.compile(r"camera=\(\)"),
    # Directives in any order.
    "Content-Security-Policy": re.compile(
        r"^(?=.*default-src 'self')(?=.*script-src 'self')(?=.*object-src 'none')"
    ),
}
EMAIL_WAIT_SECONDS = 90


class Failure(Exception):
    pass


class Client:
    """Just enough of a browser: cookies, the proxy's header, no redirects followed."""

    def __init__(self, base_url: str):
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.origin = f"https://{self.host}:{self.port}"
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, referer: str = ""):
        headers = {"Host": f"{self.host}:{self.port}", "X-Forwarded-Proto": "https"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            headers["Referer"] = self.origin + (referer or path)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response, content.decode("utf-8", "replace")


class FormReader(HTMLParser):
    """The fields of the form whose action is `action`: hidden values and required inputs."""

    def __init__(self, action: str):
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: list[dict] = []
        self.select: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = (attrs.get("action") or "") in ("", self.action)
        elif not self.inside:
            return
        elif tag in ("input", "textarea"):
            self.fields.append({"tag": tag, **attrs})
        elif tag == "select":
            self.select = {"tag": "select", "options": [], **attrs}
            self.fields.append(self.select)
        elif tag == "option" and self.select is not None:
            self.select["options"].append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


def guest_report_answers(fields: list[dict], email: str) -> dict:
    """A plausible report: known questions answered, every other required one given a value."""
    known = {
        "business_name": "Smoke Test Stores",
        "town": "Poole",
        "postcode": "BH15 1AA",
        "description": "Someone keeps taking stock from the shelf by the door.",
        "location": "1 High Street, Poole",
        "contact_name": "Sam Smoke",
        "contact_email": email,
    }
    yesterday = dt.date.today() - dt.timedelta(days=1)
    answers: dict[str, str] = {}
    for field in fields:
        name, kind = field.get("name"), field.get("type", "text")
        if not name or name in answers or kind in ("submit", "button", "file"):
            continue
        if kind == "hidden":
            answers[name] = field.get("value", "")
        elif field["tag"] == "select":
            # A browser always sends a select's chosen option (the first, unless another is).
            answers[name] = next((value for value in field["options"] if value), "")
        elif "date-input-" in field.get("class", ""):
            # The GOV.UK day, month and year boxes (named field_0, _1, _2).
            part = re.search(r"date-input-(day|month|year)", field["class"]).group(1)
            answers[name] = str(getattr(yesterday, part))
        elif "required" not in field:
            continue  # optional questions stay empty, as a hurried person leaves them
        elif name in known:
            answers[name] = known[name]
        elif kind in ("radio", "checkbox"):
            answers[name] = field.get("value", "")
        elif kind == "date":
            answers[name] = yesterday.isoformat()
        elif kind == "email":
            answers[name] = email
        elif name.endswith("day"):
            answers[name] = str(yesterday.day)
        elif name.endswith("month"):
            answers[name] = str(yesterday.month)
        elif name.endswith("year"):
            answers[name] = str(yesterday.year)
        else:
            answers[name] = "Smoke test"
    return answers


def run(base_url: str, email_dir: Path) -> None:
    client = Client(base_url)

    response, body = client.request("GET", "/healthz")
    check(response.status == 200, f"/healthz answered {response.status}: {body}")
    health = json.loads(body)
    check(
        health.get("database") == "ok" and health.get("broker") == "ok",
        f"/healthz: {health}",
    )
    print(f"ok  /healthz 200 {body}")

    for path in ("/", "/report/", "/accounts/login/", "/resources/"):
        response, body = client.request("GET", path)
        check(response.status == 200, f"{path} answered {response.status}")
        check("Traceback" not in body, f"{path} shows a traceback")
        for header, pattern in SECURITY_HEADERS.items():
            value = response.headers.get(header, "")
            check(bool(pattern.search(value)), f"{path}: header {header} is {value!r}")
        print(f"ok  {path} 200 with {', '.join(SECURITY_HEADERS)}")

    _, home = client.request("GET", "/")
    hashed = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', home)
    check(hashed is not None, "the home page does not link a hashed stylesheet (collectstatic?)")
    response, _ = client.request("GET", hashed.group(1))
    cache = response.headers.get("Cache-Control", "")
    max_age = re.search(r"max-age=(\d+)", cache)
    check(response.status == 200, f"{hashed.group(1)} answered {response.status}")
    check(
        max_age is not None and int(max_age.group(1)) >= 365 * 24 * 3600,
        f"{hashed.group(1)}: Cache-Control is {cache!r}, not a far-future max-age",
    )
    print(f"ok  {hashed.group(1)} 200, Cache-Control: {cache}")

    missing = f"/no-such-page-{secrets.token_hex(4)}/"
    response, body = client.request("GET", missing)
    check(response.status == 404, f"{missing} answered {response.status}")
    check("Page not found" in body and "Dorset Business Crime" in body, "404 is not ours")
    check("Traceback" not in body and "DEBUG" not in body, "the 404 page shows debug output")
    print(f"ok  {missing} 404 with the portal's own page")

    address = f"smoke-{secrets.token_hex(4)}@example.org"
    response, page = client.request("GET", "/report/guest/")
    check(response.status == 200, f"/report/guest/ answered {response.status}")
    reader = FormReader("/report/guest/")
    reader.feed(page)
    answers = guest_report_answers(reader.fields, address)
    check("csrfmiddlewaretoken" in answers, "the guest form carries no CSRF token")
    response, body = client.request("POST", "/report/guest/", answers)
    location = response.headers.get("Location", "")
    check(
        response.status == 302,
        f"posting the guest report answered {response.status}, not a redirect: "
        + " | ".join(re.findall(r'class="[^"]*invalid-feedback[^"]*"[^>]*>([^<]+)', body))[:500],
    )
    print(f"ok  guest report accepted, redirected to {location}")

    check(location.endswith("/check/"), f"the guest report went to {location}, not its check page")
    response, page = client.request("GET", location)
    check(
        response.status == 200 and "Check your answers" in page,
        f"{location} answered {response.status} without its answers",
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    check(token is not None, f"{location} carries no CSRF token")
    response, _ = client.request(
        "POST", location, {"csrfmiddlewaretoken": token.group(1), "action": "send"}
    )
    sent = response.headers.get("Location", "")
    check(
        response.status == 302 and sent.endswith("/report/guest/sent/"),
        f"sending from {location} answered {response.status} to {sent!r}",
    )
    print(f"ok  the report was sent from its check page, redirected to {sent}")

    email = wait_for_email(email_dir, address)
    print(f"ok  the worker sent the confirmation email to {address}")

    link = re.search(r"https://[^/\s]+(/report/track/[A-Za-z0-9_-]+/)", email)
    check(link is not None, "the confirmation email has no private link")
    response, page = client.request("GET", link.group(1))
    check(response.status == 200, f"the private link answered {response.status}")
    check("Confirm my report" in page, "the private link's page offers no confirmation")
    print("ok  the private link opens the report, ready to confirm")


def wait_for_email(email_dir: Path, address: str) -> str:
    deadline = time.monotonic() + EMAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        for path in email_dir.glob("*.log"):
            text = path.read_text()
            if address in text:
                return text
        time.sleep(1)
    raise Failure(f"no email to {address} in {email_dir} after {EMAIL_WAIT_SECONDS} s")


if __name__ == "__main__":
    try:
        run(sys.argv[1], Path(sys.argv[2]))
    except Failure as failure:
        print(f"FAILED  {failure}", file=sys.stderr)
        sys.exit(1)
