"""Categories, outcomes and emergency signposting every installation starts with (all editable)."""

from django.db import migrations

CATEGORIES = [
    ("theft", "Theft or shoplifting", "", False, False),
    ("burglary", "Burglary or break-in", "", False, False),
    ("damage", "Criminal damage or graffiti", "", False, False),
    ("violence", "Violence, threats or abuse towards staff", "", False, False),
    ("asb", "Anti-social behaviour", "", False, False),
    ("fraud", "Fraud or scams", "Fake invoices, refund scams, counterfeit notes.", False, False),
    ("cyber", "Cyber crime", "Phishing, ransomware, hacked accounts, invoice fraud.", True, False),
    ("rural", "Rural crime", "Machinery, fuel, livestock, equine.", False, True),
    ("drugs", "Drugs", "", False, False),
    ("exploitation", "Concerns about exploitation or organised crime", "", False, False),
    ("other", "Other", "", False, False),
]

OUTCOMES = [
    ("advice-given", "Advice given", "We have given you advice to help prevent this happening again.", False),
    ("action-taken", "Action taken", "Officers have taken action in response to your concern.", False),
    ("crime-recorded", "Crime recorded", "A crime has been recorded and will be investigated.", False),
    ("referred-partner", "Referred to a partner", "We have passed this to a partner organisation better placed to act.", False),
    ("referred-national", "Referred to a national body", "We have referred this to a national body such as the National Business Crime Centre, Action Fraud or the NCSC.", False),
    ("no-further-action", "No further action", "We cannot take this further; the note below explains why.", True),
    ("duplicate", "Duplicate", "This concern is already being dealt with under another reference.", True),
]

SIGNPOSTS = [
    ("Call 999", "It is happening now, or someone is in danger",
     "If a crime is happening now, someone is in danger or you feel threatened, call 999 straight "
     "away. If you cannot speak, stay on the line: on a mobile, press 55 when asked.",
     "999", "", "", True),
    ("Report a crime to Dorset Police", "You want a crime recorded",
     "To report a crime that is not an emergency, call 101 or report it online. You will get a "
     "crime reference number. You can add it to a concern here afterwards.",
     "101", "https://www.dorset.police.uk/ro/report/", "Report a crime online to Dorset Police",
     False),
    ("Report fraud and cyber crime to Action Fraud",
     "It is fraud, a scam or cyber crime",
     "Fraud and cyber crime are reported to Action Fraud, the national reporting centre. If your "
     "business is suffering a live cyber attack, call 0300 123 2040 and press 9: the line is open "
     "24 hours a day, every day.",
     "0300 123 2040", "https://www.actionfraud.police.uk/", "Report to Action Fraud online",
     False),
    ("Tell Crimestoppers anonymously", "You want to stay anonymous",
     "Crimestoppers is an independent charity. Call free or use its online form: you will never "
     "be asked your name.",
     "0800 555 111", "https://crimestoppers-uk.org/", "Give information to Crimestoppers online",
     False),
]


def load(apps, schema_editor):
    Category = apps.get_model("engagement", "ConcernCategory")
    Outcome = apps.get_model("engagement", "Outcome")
    Signpost = apps.get_model("engagement", "Signpost")
    for position, (slug, name, hint, cyber, rural) in enumerate(CATEGORIES):
        Category.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "hint": hint, "is_cyber": cyber, "is_rural": rural,
                      "position": position},
        )
    for position, (slug, name, description, requires_note) in enumerate(OUTCOMES):
        Outcome.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "description": description, "requires_note": requires_note,
                      "position": position},
        )
    if not Signpost.objects.exists():
        for position, (title, when, body, phone, url, link_text, urgent) in enumerate(SIGNPOSTS):
            Signpost.objects.create(title=title, when=when, body=body, phone=phone, link_url=url,
                                    link_text=link_text, is_urgent=urgent, position=position)


class Migration(migrations.Migration):
    dependencies = [("engagement", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
