"""Swedish by default, English when the person chooses it (a cookie set by a link).

The catalogue is a plain dict: one key, its Swedish and its English text. Templates
call `t("key")`; a key missing from the catalogue is shown as itself, so it is noticed.
"""

from typing import Literal, get_args

from starlette.requests import Request

Lang = Literal["sv", "en"]
LANGUAGES: tuple[Lang, ...] = get_args(Lang)
DEFAULT: Lang = "sv"
COOKIE = "__Host-kanalvakt-lang"

MESSAGES: dict[str, dict[Lang, str]] = {
    "app.name": {"sv": "Kanalvakt", "en": "Kanalvakt"},
    "skip": {"sv": "Hoppa till innehållet", "en": "Skip to content"},
    "nav.label": {"sv": "Huvudmeny", "en": "Main menu"},
    "nav.accounts": {"sv": "Konton", "en": "Accounts"},
    "nav.new_plan": {"sv": "Ny verksamhetsplan", "en": "New activity plan"},
    "nav.absences": {"sv": "Frånvaro", "en": "Absences"},
    "lang.switch": {"sv": "In English", "en": "På svenska"},
    "lang.label": {"sv": "Språk", "en": "Language"},
    "signed_in_as": {"sv": "Inloggad som", "en": "Signed in as"},
    "signout": {"sv": "Logga ut", "en": "Sign out"},
    "footer": {
        "sv": "Kanalvakt: kommunens konton i sociala medier enligt policy och "
        "offentlighetsprincip.",
        "en": "Kanalvakt: the kommun's social-media accounts under its policy and "
        "public-records law.",
    },
    # Sign-in
    "signin.title": {"sv": "Logga in", "en": "Sign in"},
    "signin.oidc": {
        "sv": "Logga in med kommunens inloggning",
        "en": "Sign in with the kommun's login",
    },
    "signin.local_intro": {
        "sv": "Lokal inloggning för utveckling och test (kanalvakt up): välj en person och roll. "
        "Inget lösenord lagras.",
        "en": "Local sign-in for development and tests (kanalvakt up): pick a person and role. "
        "No password is stored.",
    },
    "signin.configured": {"sv": "Personer i konfigurationen", "en": "People in the configuration"},
    "signin.as": {"sv": "Logga in som", "en": "Sign in as"},
    "signin.other": {"sv": "Annan person", "en": "Someone else"},
    "signin.none": {
        "sv": "Ingen inloggning är konfigurerad (WEB_OIDC_CLIENT_ID eller WEB_LOCAL_SIGNIN).",
        "en": "No sign-in is configured (WEB_OIDC_CLIENT_ID or WEB_LOCAL_SIGNIN).",
    },
    "signin.failed": {"sv": "Inloggningen misslyckades", "en": "Sign-in failed"},
    "signin.required": {"sv": "Logga in för att fortsätta.", "en": "Sign in to continue."},
    "field.kommun": {"sv": "Kommun", "en": "Kommun"},
    "field.name": {"sv": "Namn", "en": "Name"},
    "field.email": {"sv": "E-post", "en": "E-mail"},
    "field.phone": {"sv": "Telefon", "en": "Phone"},
    "field.role": {"sv": "Roll", "en": "Role"},
    "field.department": {"sv": "Förvaltning", "en": "Department"},
    "field.unit": {"sv": "Enhet", "en": "Unit"},
    "field.platform": {"sv": "Plattform", "en": "Platform"},
    "field.state": {"sv": "Läge", "en": "State"},
    "any": {"sv": "Alla", "en": "Any"},
    "none_chosen": {"sv": "(ingen)", "en": "(none)"},
    # Roles (shared.principal.Role)
    "role.communicator": {"sv": "Driftansvarig", "en": "Communicator"},
    "role.administrator": {"sv": "Kontoansvarig (administratör)", "en": "Administrator"},
    "role.unit_head": {"sv": "Enhetschef", "en": "Unit head"},
    "role.department_head": {"sv": "Förvaltningschef", "en": "Department head"},
    "role.information_officer": {"sv": "Informationsansvarig", "en": "Information officer"},
    "role.security_coordinator": {"sv": "Säkerhetssamordnare", "en": "Security coordinator"},
    "role.registrar": {"sv": "Registrator", "en": "Registrar"},
    "role.archivist": {"sv": "Arkivarie", "en": "Archivist"},
    "role.operations": {"sv": "Drift (IT)", "en": "Operations"},
    # Account states (services' State values)
    "state.draft": {"sv": "Utkast", "en": "Draft"},
    "state.submitted": {"sv": "Inlämnad", "en": "Submitted"},
    "state.approved": {"sv": "Godkänd", "en": "Approved"},
    "state.active": {"sv": "Aktiv (offentlig)", "en": "Active (public)"},
    "state.closing": {"sv": "Stängs", "en": "Closing"},
    "state.closed": {"sv": "Stängd", "en": "Closed"},
    # Sign-off roles (B1)
    "sign.administrator_1": {"sv": "Administratör 1", "en": "Administrator 1"},
    "sign.administrator_2": {"sv": "Administratör 2", "en": "Administrator 2"},
    "sign.department_head": {"sv": "Förvaltningschef", "en": "Department head"},
    "sign.information_officer": {"sv": "Informationsansvarig", "en": "Information officer"},
    # Accounts
    "accounts.title": {"sv": "Konton", "en": "Accounts"},
    "accounts.filter": {"sv": "Filtrera", "en": "Filter"},
    "accounts.empty": {"sv": "Inga konton matchar.", "en": "No accounts match."},
    "accounts.next": {"sv": "Nästa sida", "en": "Next page"},
    "accounts.handle": {"sv": "Kontonamn", "en": "Account name"},
    "accounts.history": {"sv": "Historik", "en": "History"},
    "accounts.when": {"sv": "När", "en": "When"},
    "accounts.who": {"sv": "Vem", "en": "Who"},
    "accounts.what": {"sv": "Vad", "en": "What"},
    "accounts.plan": {"sv": "Verksamhetsplan", "en": "Activity plan"},
    "accounts.signatures": {"sv": "Signeringar (B1)", "en": "Sign-offs (B1)"},
    "accounts.signed_by": {"sv": "Signerad av", "en": "Signed by"},
    "accounts.not_signed": {"sv": "Inte signerad", "en": "Not signed"},
    "accounts.sign_page": {"sv": "Till signeringen", "en": "To the sign-off"},
    "accounts.created": {
        "sv": "Verksamhetsplanen är inlämnad.",
        "en": "The activity plan is submitted.",
    },
    "accounts.signed": {"sv": "Signeringen är registrerad.", "en": "The sign-off is recorded."},
    "accounts.public": {
        "sv": "Kontot är aktivt och visas på den offentliga listan.",
        "en": "The account is active and shown on the public list.",
    },
    "sign.title": {"sv": "Signera verksamhetsplanen", "en": "Sign the activity plan"},
    "sign.intro": {
        "sv": "Fyra personer signerar planen, var och en i sin roll (B1, P2.1, P3.6).",
        "en": "Four people sign the plan, each in their own role (B1, P2.1, P3.6).",
    },
    "sign.as": {"sv": "Signera som", "en": "Sign as"},
    "sign.submit": {"sv": "Signera", "en": "Sign"},
    "credentials.title": {
        "sv": "Inloggningsuppgifter deponerade (P3.5)",
        "en": "Credentials deposited (P3.5)",
    },
    "credentials.location": {"sv": "Var förvaras de", "en": "Where they are kept"},
    "credentials.at": {"sv": "Deponerade (datum och tid)", "en": "Deposited (date and time)"},
    "credentials.hint": {
        "sv": "Skriv aldrig lösenordet här, bara var uppgifterna förvaras.",
        "en": "Never write the password here, only where the credentials are kept.",
    },
    "credentials.submit": {"sv": "Registrera depositionen", "en": "Record the deposit"},
    "credentials.none": {"sv": "Inte deponerade", "en": "Not deposited"},
    "profile.title": {
        "sv": "Profilens innehåll (P4.1, P5.7)",
        "en": "The profile's content (P4.1, P5.7)",
    },
    "profile.submit": {"sv": "Bekräfta profilen", "en": "Confirm the profile"},
    "profile.done": {"sv": "Bekräftad", "en": "Confirmed"},
    "profile.none": {"sv": "Inte bekräftad", "en": "Not confirmed"},
    "profile.logo_and_kommun_name": {
        "sv": "Kommunens logotyp och namn visas",
        "en": "The kommun's logo and name are shown",
    },
    "profile.purpose_and_official_account": {
        "sv": "Syftet och att kontot är officiellt anges",
        "en": "The purpose, and that the account is official, are stated",
    },
    "profile.unit_part_of_kommun": {
        "sv": "Att enheten hör till kommunen anges",
        "en": "That the unit belongs to the kommun is stated",
    },
    "profile.update_frequency": {
        "sv": "Hur ofta kontot uppdateras anges",
        "en": "How often the account is updated is stated",
    },
    "profile.contacts_and_link_to_kommun_site": {
        "sv": "Kontaktuppgifter och länk till kommunens webbplats finns",
        "en": "Contacts and a link to the kommun's site are there",
    },
    "profile.posts_public_and_personal_data": {
        "sv": "Besökare informeras om att inlägg är offentliga och om personuppgifter",
        "en": "Visitors are told that posts are public and how personal data is handled",
    },
    # The plan form (Bilaga 1)
    "plan.title": {"sv": "Ny verksamhetsplan (Bilaga 1)", "en": "New activity plan (Bilaga 1)"},
    "plan.intro": {
        "sv": "Fält markerade med * måste fyllas i. Reglernas ID (t.ex. P3.1) står vid varje fel.",
        "en": "Fields marked * are required. Each error names its rule (e.g. P3.1).",
    },
    "plan.errors": {"sv": "Planen har fel", "en": "The plan has errors"},
    "plan.account": {"sv": "Kontot", "en": "The account"},
    "plan.handle": {"sv": "Kontonamn på plattformen", "en": "Account name on the platform"},
    "plan.url": {"sv": "Kontots webbadress", "en": "The account's web address"},
    "plan.purpose": {"sv": "Syfte", "en": "Purpose"},
    "plan.audience": {"sv": "Målgrupp", "en": "Target audience"},
    "plan.administrators": {
        "sv": "Administratörer (kontoansvariga, minst två)",
        "en": "Administrators (at least two)",
    },
    "plan.administrator": {"sv": "Administratör", "en": "Administrator"},
    "plan.knowledge": {
        "sv": "Bekräftat kunskap om plattformen (datum)",
        "en": "Confirmed knowing the platform (date)",
    },
    "plan.operators": {"sv": "Driftansvariga", "en": "Operators"},
    "plan.operator": {"sv": "Driftansvarig", "en": "Operator"},
    "plan.frequency": {"sv": "Uppdateringsfrekvens", "en": "Update frequency"},
    "plan.posts": {"sv": "Antal inlägg", "en": "Posts"},
    "plan.per": {"sv": "per", "en": "per"},
    "per.day": {"sv": "dag", "en": "day"},
    "per.week": {"sv": "vecka", "en": "week"},
    "per.month": {"sv": "månad", "en": "month"},
    "plan.monitoring": {"sv": "Bevakning", "en": "Monitoring"},
    "plan.days": {"sv": "Dagar", "en": "Days"},
    "plan.start": {"sv": "Från (TT:MM)", "en": "From (HH:MM)"},
    "plan.end": {"sv": "Till (TT:MM)", "en": "To (HH:MM)"},
    "plan.holidays": {"sv": "Även helgdagar", "en": "Public holidays too"},
    "plan.deadlines": {"sv": "Tidsgränser och tid", "en": "Deadlines and time"},
    "plan.removal": {
        "sv": "Borttagning inom (timmar, tomt = kommunens)",
        "en": "Removal within (hours, empty = the kommun's)",
    },
    "plan.answer": {
        "sv": "Svar inom (timmar, tomt = kommunens)",
        "en": "Answer within (hours, empty = the kommun's)",
    },
    "plan.hours": {"sv": "Uppskattad tid per vecka (timmar)", "en": "Estimated hours per week"},
    "plan.submit": {"sv": "Lämna in planen", "en": "Submit the plan"},
    "day.mon": {"sv": "måndag", "en": "Monday"},
    "day.tue": {"sv": "tisdag", "en": "Tuesday"},
    "day.wed": {"sv": "onsdag", "en": "Wednesday"},
    "day.thu": {"sv": "torsdag", "en": "Thursday"},
    "day.fri": {"sv": "fredag", "en": "Friday"},
    "day.sat": {"sv": "lördag", "en": "Saturday"},
    "day.sun": {"sv": "söndag", "en": "Sunday"},
    # An account's history (services/registry/domain/account.py)
    "action.drafted": {"sv": "Utkast sparat", "en": "Draft saved"},
    "action.submitted": {"sv": "Planen inlämnad", "en": "Plan submitted"},
    "action.signed": {"sv": "Signerad", "en": "Signed"},
    "action.credentials_deposited": {
        "sv": "Inloggningsuppgifter deponerade",
        "en": "Credentials deposited",
    },
    "action.profile_confirmed": {"sv": "Profilen bekräftad", "en": "Profile confirmed"},
    "action.activated": {"sv": "Aktiverat", "en": "Activated"},
    "action.amended": {"sv": "Planen ändrad", "en": "Plan amended"},
    "action.administrator_left": {"sv": "Administratör slutade", "en": "Administrator left"},
    "action.closing": {"sv": "Ska stängas", "en": "To be closed"},
    "action.closed": {"sv": "Stängt", "en": "Closed"},
    # Absences
    "absences.title": {"sv": "Frånvaro och ersättare", "en": "Absences and substitutes"},
    "absences.person": {"sv": "Frånvarande", "en": "Absent"},
    "absences.substitute": {"sv": "Ersättare", "en": "Substitute"},
    "absences.starts": {"sv": "Från", "en": "From"},
    "absences.ends": {"sv": "Till", "en": "To"},
    "absences.submit": {"sv": "Registrera frånvaron", "en": "Record the absence"},
    "absences.empty": {
        "sv": "Ingen pågående eller kommande frånvaro.",
        "en": "No current or coming absence.",
    },
    "absences.created": {"sv": "Frånvaron är registrerad.", "en": "The absence is recorded."},
    # Errors
    "error.title": {"sv": "Något gick fel", "en": "Something went wrong"},
    "error.csrf": {
        "sv": "Formuläret kunde inte tas emot: säkerhetskoden saknas eller stämmer inte. "
        "Ladda om sidan och försök igen.",
        "en": "The form was refused: its security code is missing or wrong. "
        "Reload the page and try again.",
    },
    "error.unavailable": {
        "sv": "Tjänsten svarar inte just nu. Försök igen om en stund.",
        "en": "The service does not answer right now. Try again shortly.",
    },
    "error.forbidden": {
        "sv": "Du har inte behörighet till detta.",
        "en": "You are not permitted to do this.",
    },
    "error.not_found": {
        "sv": "Det finns inget med den adressen.",
        "en": "There is nothing at this address.",
    },
    "error.back": {"sv": "Tillbaka till kontona", "en": "Back to the accounts"},
    "error.rule": {"sv": "Regel", "en": "Rule"},
}


def lang_of(request: Request) -> Lang:
    """The person's chosen language (cookie), else Swedish."""
    chosen = request.cookies.get(COOKIE, "")
    return chosen if chosen in LANGUAGES else DEFAULT


def t(key: str, lang: Lang, **values: object) -> str:
    """The text for `key` in `lang`; `values` fill its {placeholders}."""
    text = MESSAGES.get(key, {}).get(lang) or key
    return text.format(**values) if values else text


def other(lang: Lang) -> Lang:
    return "en" if lang == "sv" else "sv"
