"""The retention schedule every installation starts with, the privacy notice and the
accessibility statement as first written, and the OPCC editors' right to keep those two
pages up to date. Administrators change all of it in the admin; rows already there are left
as they are."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR_GROUP = "OPCC editors"
PAGE_CODENAMES = ["change_page", "view_page"]

# Periods against MoPI (the College of Policing's Authorised Professional Practice on the
# Management of Police Information): MoPI sets review periods for records held by the force.
# A concern on this portal is not a crime report (those are recorded through 101 or online
# reporting, and reviewed under MoPI there); what an officer copies into the force's records
# is reviewed under MoPI with them.
RULES = [
    (
        "closed_concerns",
        730,
        "Two years after the concern was closed (or given its outcome, if the business never "
        "confirmed it): the reporter's words, contact details, files and replies are removed; "
        "the category, area, dates and outcome stay for counting. Two years lets the business "
        "come back to a concern and lets the partnership see repeat problems at a place; "
        "anything that became evidence is held by an officer (legal hold) or copied into the "
        "force's records, where MoPI's review periods apply. Events stay, anonymised.",
    ),
    (
        "guest_reports",
        7,
        "Seven days after a guest sent a report without confirming it from the email: the "
        "report, its files and its placeholder business are deleted. Nobody stands behind an "
        "unconfirmed report and no officer has seen it, so it is not police information.",
    ),
    (
        "export_files",
        7,
        "Seven days after a person's copy of their data was made: the file is deleted and its "
        "link stops working. They can ask for a new copy at any time.",
    ),
    (
        "sent_emails",
        30,
        "Thirty days after an email was sent: the outbox's copy is deleted. The outbox is a "
        "delivery queue, kept long enough to answer 'did my email arrive?', not an archive.",
    ),
]

PRIVACY_NOTICE = """## Who we are

This portal is run by the Dorset Business Crime Partnership. Dorset Police and the Office of the Police and Crime Commissioner for Dorset (OPCC) are the controllers of the personal data it holds.

## What we hold about you

- Your account: your email address, your name and phone number if you give them, and when you signed in.
- Your businesses: their names, addresses and the people who belong to them.
- Your reports: what happened, where and when, how to contact you, any photos or documents you attach, and the messages between you and the police.
- Watch scheme memberships and the alerts sent to you, and your seminar bookings.
- The emails we send you, for a short time after sending.

We do not ask for the names of other people. Please do not put them in a report unless the police need them.

## Why we hold it (our lawful basis)

We use your reports to prevent and detect crime against businesses, which is a law enforcement purpose under Part 3 of the Data Protection Act 2018. Your account, Watch schemes and seminars are part of our public task of supporting businesses (UK GDPR Article 6(1)(e)).

## Who sees it

- Officers and staff of the Neighbourhood Policing Team for your business's area, and the specialist teams (rural crime, cyber crime) when your report is about their work.
- If a concern is escalated: the Business Co-ordinating Group or the Business Safety Partnership, which bring together the police, councils and business organisations. They see what they need to act on it.
- Insight for the partnership is made from counts; it does not name you.

We never sell your data or use it for marketing.

## How long we keep it

Each kind of record is kept for a set period, then anonymised or deleted by a nightly job. The periods in force are listed at the end of this page. Your reports are kept for two years after they are closed; then your words, contact details and files are removed, and only counts stay.

An officer can place a legal hold on a report that has become evidence; it is then kept for as long as the law requires.

## Your rights

- See your data: use "Download your data" on your account page, or ask us.
- Correct it: change your details on your account page, or ask us.
- Delete it: use "Delete my account" on your account page. Your reports stay with the police, with your words and contact details removed, unless an officer has a legal reason to keep them.
- Object, or ask us to restrict how we use it.

Some rights are limited when data is held for law enforcement; we will tell you if that applies.

## Contact and complaints

Write to the Data Protection Officer of Dorset Police through the Dorset Police website. If you are not happy with our answer, you can complain to the Information Commissioner's Office (ico.org.uk, 0303 123 1113)."""

ACCESSIBILITY_STATEMENT = """This statement applies to the Dorset Business Crime Partnership portal. It is run by Dorset Police and the Office of the Police and Crime Commissioner for Dorset. We want as many people as possible to be able to use it.

## What we aim for

We aim to meet the Web Content Accessibility Guidelines (WCAG) version 2.2 at level AA. You should be able to:

- use the portal with a keyboard alone
- use it with a screen reader or screen magnifier
- zoom to 400% without text spilling off the screen
- change colours, text size and fonts in your browser

## How we test it

Every change is checked before release: automated accessibility checks (axe) run in a real browser on the public pages, the report journey, the partnership area and the admin screens, and browser tests find every control by its visible label and use it with the keyboard. We also check pages by hand with a screen reader.

## What is not yet accessible

- Photos and documents that businesses attach to reports are shown as they were sent; they may not have text descriptions.
- Charts on the insight page have a table behind each one; the charts themselves are not described in words.
- Staff screens are built on the Django admin, which we have tested and adjusted but which may have issues we have not found.

## Tell us about a problem

If you find something on this portal hard to use, or need information in a different format, contact the Dorset Business Crime Partnership through the Dorset Police website, or call 101 and ask for the Business Crime team. We will reply within 10 working days.

## Enforcement procedure

The Equality and Human Rights Commission (EHRC) is responsible for enforcing the Public Sector Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018. If you are not happy with how we respond to your complaint, contact the Equality Advisory and Support Service (EASS)."""

PAGES = [
    ("privacy", "Privacy notice", PRIVACY_NOTICE),
    ("accessibility", "Accessibility statement", ACCESSIBILITY_STATEMENT),
]


def load(apps, schema_editor):
    RetentionRule = apps.get_model("privacy", "RetentionRule")
    Page = apps.get_model("privacy", "Page")
    for kind, days, basis in RULES:
        RetentionRule.objects.get_or_create(kind=kind, defaults={"days": days, "basis": basis})
    for slug, title, body in PAGES:
        Page.objects.get_or_create(slug=slug, defaults={"title": title, "body": body})

    # Permissions are normally created after migrate; create them now for a fresh database.
    app_config = apps.get_app_config("privacy")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=EDITOR_GROUP)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="privacy", codename__in=PAGE_CODENAMES)
    )


def unload(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=EDITOR_GROUP).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="privacy", codename__in=PAGE_CODENAMES
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(load, unload)]
