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
    "nav.moderation": {"sv": "Moderering", "en": "Moderation"},
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
    # Drafts, amendments, departures and closing (web/pages/accounts.py)
    "plan.title_draft": {"sv": "Fortsätt utkastet", "en": "Resume the draft"},
    "plan.title_amend": {"sv": "Ändra verksamhetsplanen", "en": "Amend the activity plan"},
    "plan.back": {"sv": "Tillbaka till kontot", "en": "Back to the account"},
    "draft.title": {"sv": "Utkast, inte inlämnat", "en": "Draft, not submitted"},
    "draft.explain": {
        "sv": "Planen är sparad som utkast. Ingen har signerat den och den visas inte "
        "offentligt förrän den är inlämnad och signerad av alla fyra (P3.6, B1).",
        "en": "The plan is saved as a draft. Nobody has signed it, and it is not public "
        "until it is submitted and signed by all four (P3.6, B1).",
    },
    "draft.intro": {
        "sv": "Utkastet sparas med samma regler som en inlämnad plan; lämna in det när det "
        "är klart.",
        "en": "The draft is saved under the same rules as a submitted plan; submit it when "
        "it is ready.",
    },
    "draft.save": {"sv": "Spara som utkast", "en": "Save as draft"},
    "draft.resume": {"sv": "Fortsätt utkastet", "en": "Resume the draft"},
    "draft.submit": {"sv": "Lämna in utkastet som det är", "en": "Submit the draft as it is"},
    "draft.saved": {
        "sv": "Utkastet är sparat. Det är inte inlämnat.",
        "en": "The draft is saved. It is not submitted.",
    },
    "amend.link": {"sv": "Ändra planen", "en": "Amend the plan"},
    "amend.intro": {
        "sv": "Ändras administratörer, förvaltning eller syfte måste alla fyra signera "
        "planen igen (P2.1, P3.6); andra ändringar gäller direkt.",
        "en": "Changing the administrators, the department or the purpose needs all four "
        "sign-offs again (P2.1, P3.6); other changes apply at once.",
    },
    "amend.submit": {"sv": "Spara ändringarna", "en": "Save the changes"},
    "plan.ended": {
        "sv": "Kontot håller på att stängas eller är stängt. Planen kan inte ändras längre.",
        "en": "The account is being closed or is closed. Its plan cannot be changed any more.",
    },
    "plan.too_many_rows": {
        "sv": "Formuläret har för många rader. Högst {limit} rader går att skicka.",
        "en": "The form has too many rows. At most {limit} rows can be sent.",
    },
    "amend.saved": {
        "sv": "Ändringen är sparad. Den behöver inga nya signeringar.",
        "en": "The change is saved. It needs no new sign-offs.",
    },
    "amend.reapproval": {
        "sv": "Ändringen är sparad. Den gäller administratörer, förvaltning eller syfte, så "
        "planen är inlämnad igen och alla fyra måste signera på nytt (P3.6).",
        "en": "The change is saved. It concerns the administrators, the department or the "
        "purpose, so the plan is submitted again and needs all four sign-offs anew (P3.6).",
    },
    "amend.needs_signoffs": {"sv": "nya signeringar krävs", "en": "new sign-offs needed"},
    "departure.title": {
        "sv": "En administratör slutar (P3.1)",
        "en": "An administrator leaves (P3.1)",
    },
    "departure.explain": {
        "sv": "Kontot måste ha minst två administratörer. Har det färre när någon slutar "
        "larmas de ansvariga, och en ny administratör läggs till genom att ändra planen.",
        "en": "The account needs at least two administrators. With fewer, those "
        "responsible are alerted; a new administrator is added by amending the plan.",
    },
    "departure.who": {"sv": "Vem slutar", "en": "Who leaves"},
    "departure.submit": {"sv": "Registrera att hen slutar", "en": "Record the departure"},
    "departure.done": {
        "sv": "Att administratören slutar är registrerat.",
        "en": "The departure is recorded.",
    },
    "departure.left": {"sv": "har slutat", "en": "has left"},
    "closing.title": {"sv": "Stänga kontot (P5.5)", "en": "Closing the account (P5.5)"},
    "closing.explain": {
        "sv": "När enheten slutar använda plattformen ska kontot stängas. Ange varför; "
        "bekräfta sedan här när kontot är stängt på plattformen.",
        "en": "When the unit stops using the platform, the account is closed. Say why; "
        "then confirm here once it is closed on the platform.",
    },
    "closing.reason": {"sv": "Skäl", "en": "Reason"},
    "closing.reason_hint": {
        "sv": "Minst 3 tecken; syns i kontots historik.",
        "en": "At least 3 characters; shown in the account's history.",
    },
    "closing.start": {"sv": "Börja stänga kontot", "en": "Start closing the account"},
    "closing.started_at": {"sv": "Stängning påbörjad", "en": "Closing started"},
    "closing.confirm_explain": {
        "sv": "Bekräfta när kontot är stängt eller borttaget på plattformen. Då tas det bort "
        "från den offentliga listan (P10.8); det som arkiverats finns kvar.",
        "en": "Confirm once the account is closed or deleted on the platform. It then leaves "
        "the public list (P10.8); what was archived is kept.",
    },
    "closing.confirm": {
        "sv": "Bekräfta att kontot är stängt på plattformen",
        "en": "Confirm the account is closed on the platform",
    },
    "closing.started": {
        "sv": "Kontot ska stängas. Bekräfta när det är stängt på plattformen.",
        "en": "The account is to be closed. Confirm once it is closed on the platform.",
    },
    "closing.closed": {"sv": "Kontot är stängt.", "en": "The account is closed."},
    "closing.is_closed": {"sv": "Kontot är stängt.", "en": "The account is closed."},
    "closing.who": {
        "sv": "Kontoansvariga, informationsansvarig, förvaltnings- och enhetschefer kan "
        "stänga kontot.",
        "en": "Administrators, the information officer, department and unit heads can close "
        "the account.",
    },
    "refused.roles": {
        "sv": "Din roll får inte göra detta. Det kräver en av rollerna: {roles}.",
        "en": "Your role may not do this; it needs one of the roles: {roles}.",
    },
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
    # Moderation (web/pages/moderation.py)
    "mod.queue": {"sv": "Modereringskö", "en": "Moderation queue"},
    "mod.queue_intro": {
        "sv": "Öppna ärenden, den närmaste tidsgränsen först (B1 punkt 7, P5.3).",
        "en": "Open cases, the nearest deadline first (B1 item 7, P5.3).",
    },
    "mod.all": {"sv": "Alla ärenden", "en": "All cases"},
    "mod.mine": {"sv": "Bara mina ärenden", "en": "Only my cases"},
    "mod.empty": {"sv": "Inga öppna ärenden.", "en": "No open cases."},
    "mod.escalated": {
        "sv": "Eskalerad: brott anmält till säkerhetssamordnaren (P5.8)",
        "en": "Escalated: a crime reported to the security coordinator (P5.8)",
    },
    "mod.escalated_count": {
        "sv": "Eskalerade ärenden i kön: {n}",
        "en": "Escalated cases in the queue: {n}",
    },
    "mod.left": {"sv": "{time} kvar", "en": "{time} left"},
    "mod.overdue": {"sv": "Försenad med {time}", "en": "Overdue by {time}"},
    "mod.due": {"sv": "tidsgräns", "en": "deadline"},
    "mod.deadline": {"sv": "Tidsgräns", "en": "Deadline"},
    "mod.case": {"sv": "Ärende", "en": "Case"},
    "mod.errors": {"sv": "Beslutet kunde inte tas", "en": "The decision was refused"},
    "mod.account": {"sv": "Konto", "en": "Account"},
    "mod.author": {"sv": "Skribent", "en": "Author"},
    "mod.author_kind.kommun": {"sv": "kommunen", "en": "the kommun"},
    "mod.author_kind.public": {"sv": "allmänheten", "en": "the public"},
    "mod.written": {"sv": "Skriven", "en": "Written"},
    "mod.on_platform": {"sv": "Visa på plattformen", "en": "Show on the platform"},
    "mod.comment": {"sv": "Kommentaren", "en": "The comment"},
    "mod.why": {"sv": "Varför den flaggades", "en": "Why it was flagged"},
    "mod.flag": {"sv": "Flaggning", "en": "Flag"},
    "mod.category": {"sv": "Kategori", "en": "Category"},
    "mod.rules": {"sv": "Regler", "en": "Rules"},
    "mod.evidence": {"sv": "Belägg", "en": "Evidence"},
    "mod.matched": {"sv": "Träffade ord", "en": "Words matched"},
    "mod.context": {"sv": "Sammanhang", "en": "Context"},
    "mod.context_none": {
        "sv": "Sammanhanget kunde inte hämtas.",
        "en": "The context could not be fetched.",
    },
    "mod.post": {"sv": "Inlägget", "en": "The post"},
    "mod.post_unknown": {
        "sv": "Inlägget ({id}) finns inte bland kontots senaste.",
        "en": "The post ({id}) is not among the account's latest.",
    },
    "mod.post_none": {
        "sv": "Kommentaren hör inte till något känt inlägg.",
        "en": "The comment belongs to no known post.",
    },
    "mod.thread": {"sv": "Tråden", "en": "The thread"},
    "mod.this_comment": {"sv": "Denna kommentar", "en": "This comment"},
    "mod.reply": {"sv": "svar", "en": "reply"},
    "mod.gone.removed": {"sv": "borttagen", "en": "removed"},
    "mod.gone.hidden": {"sv": "dold", "en": "hidden"},
    "mod.decide": {"sv": "Besluta", "en": "Decide"},
    "mod.claim": {"sv": "Ta ärendet", "en": "Claim the case"},
    "mod.keys_hint": {
        "sv": "Tangenterna 1–6 väljer beslutet när markören inte står i ett fält.",
        "en": "Keys 1–6 choose the decision when the cursor is not in a field.",
    },
    "mod.category_for_removal": {
        "sv": "Kategori (krävs för att ta bort eller dölja, P6)",
        "en": "Category (required to remove or hide, P6)",
    },
    "mod.reason": {"sv": "Skäl", "en": "Reason"},
    "mod.reason_hint": {
        "sv": "Förifyllt från flaggningen; ändra om du beslutar annorlunda. Krävs utom för svar.",
        "en": "Filled in from the flag; change it if you decide otherwise. Required but for "
        "an answer.",
    },
    "mod.reply_text": {"sv": "Svar eller rättelse", "en": "Answer or correction"},
    "mod.reply_hint": {
        "sv": "Krävs för att svara (P5.3) och rätta (P5.10).",
        "en": "Required to answer (P5.3) and correct (P5.10).",
    },
    "mod.forward_to": {
        "sv": "Vidarebefordra till handläggare (P5.4)",
        "en": "Forward to a case officer (P5.4)",
    },
    "mod.decision": {"sv": "Beslut", "en": "Decision"},
    "mod.resolution.remove": {"sv": "Ta bort", "en": "Remove"},
    "mod.resolution.hide": {"sv": "Dölj", "en": "Hide"},
    "mod.resolution.keep": {"sv": "Behåll", "en": "Keep"},
    "mod.resolution.answer": {"sv": "Svara", "en": "Answer"},
    "mod.resolution.forward": {"sv": "Vidarebefordra", "en": "Forward"},
    "mod.resolution.correct": {"sv": "Rätta", "en": "Correct"},
    "mod.read_only": {
        "sv": "Du kan läsa ärendet men inte besluta i det.",
        "en": "You may read the case but not decide it.",
    },
    "mod.by_hand": {"sv": "Att göra för hand", "en": "To do by hand"},
    "mod.by_hand_note": {"sv": "Vad gjordes, och var", "en": "What was done, and where"},
    "mod.by_hand_done": {"sv": "Gjort för hand", "en": "Done by hand"},
    "mod.done.decided": {"sv": "Beslutet är taget.", "en": "The decision is taken."},
    "mod.done.claimed": {"sv": "Ärendet är ditt.", "en": "The case is yours."},
    "mod.done.by_hand": {"sv": "Ärendet är avslutat.", "en": "The case is closed."},
    "mod.back": {"sv": "Tillbaka till kön", "en": "Back to the queue"},
    "mod.label.remove": {"sv": "Ta bort?", "en": "Remove?"},
    "mod.label.answer": {"sv": "Besvara", "en": "Answer"},
    "mod.source.classifier": {"sv": "av reglerna", "en": "by the rules"},
    "mod.source.report": {"sv": "anmäld av en person", "en": "reported by a person"},
    "mod.source.system": {"sv": "av ett annat system", "en": "by another system"},
    "mod.state.open": {"sv": "Öppet", "en": "Open"},
    "mod.state.claimed": {"sv": "Taget", "en": "Claimed"},
    "mod.state.by_hand": {"sv": "Beslutat, görs för hand", "en": "Decided, to do by hand"},
    "mod.state.closed": {"sv": "Avgjort", "en": "Decided"},
    "mod.action.opened": {"sv": "Öppnat", "en": "Opened"},
    "mod.action.reported": {"sv": "Anmält", "en": "Reported"},
    "mod.action.claimed": {"sv": "Taget", "en": "Claimed"},
    "mod.action.decided": {"sv": "Beslutat", "en": "Decided"},
    "mod.action.escalated": {"sv": "Eskalerat", "en": "Escalated"},
    "mod.action.hidden": {"sv": "Dolt", "en": "Hidden"},
    "mod.action.warned": {"sv": "Varning om tidsgränsen", "en": "Deadline warning"},
    "mod.action.breached": {"sv": "Tidsgränsen passerad", "en": "Deadline passed"},
    "mod.action.done_by_hand": {"sv": "Gjort för hand", "en": "Done by hand"},
    "mod.action.noted": {"sv": "Noterat", "en": "Noted"},
    # Policy categories (shared.events.comment.Category, P5, P6)
    "cat.advertising": {"sv": "Reklam", "en": "Advertising"},
    "cat.personal_attack": {"sv": "Personangrepp", "en": "Personal attack"},
    "cat.threat": {"sv": "Hot", "en": "Threat"},
    "cat.hate_speech": {"sv": "Hets mot folkgrupp", "en": "Hate speech"},
    "cat.confidential": {"sv": "Sekretess", "en": "Confidential"},
    "cat.copyright": {"sv": "Upphovsrätt", "en": "Copyright"},
    "cat.unlawful_violence": {"sv": "Olaga våldsskildring", "en": "Unlawful violence"},
    "cat.child_abuse_material": {"sv": "Barnpornografi", "en": "Child abuse material"},
    "cat.question": {"sv": "Fråga", "en": "Question"},
    "cat.criticism": {"sv": "Kritik", "en": "Criticism"},
    "cat.misguided_or_correction": {
        "sv": "Missuppfattning eller rättelse",
        "en": "Misunderstanding or correction",
    },
    "cat.positive": {"sv": "Positiv", "en": "Positive"},
    "cat.neutral": {"sv": "Neutral", "en": "Neutral"},
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
    # Archive (web/pages/archive.py)
    "nav.archive": {"sv": "Arkiv", "en": "Archive"},
    "archive.nav": {"sv": "Arkivets sidor", "en": "The archive's pages"},
    "archive.search": {"sv": "Sök allmänna handlingar", "en": "Search public records"},
    "archive.search_intro": {
        "sv": "En begäran om allmän handling ska hanteras skyndsamt (L4). Sökningar och "
        "uttag loggas. Sekretess och personnummer maskeras för alla utom registratorn (L7).",
        "en": "A request for public records is met at once (L4). Searches and exports are "
        "logged. Secret content and personnummer are masked except for the registrar (L7).",
    },
    "archive.errors": {"sv": "Det finns fel", "en": "There are errors"},
    "archive.words": {"sv": "Ord i texten", "en": "Words in the text"},
    "archive.account_id": {"sv": "Kontots id", "en": "Account id"},
    "archive.case_id": {"sv": "Ärendets id", "en": "Case id"},
    "archive.since": {"sv": "Från och med (datum)", "en": "From (date)"},
    "archive.until": {"sv": "Till och med (datum)", "en": "To (date, included)"},
    "archive.author_kind": {"sv": "Avsändare", "en": "Author"},
    "archive.origin": {"sv": "Inkommen eller upprättad", "en": "Received or drawn up"},
    "archive.kind": {"sv": "Slag", "en": "Kind"},
    "archive.state": {"sv": "Läge på plattformen", "en": "State on the platform"},
    "archive.do_search": {"sv": "Sök", "en": "Search"},
    "archive.results": {"sv": "Träffar", "en": "Results"},
    "archive.none_found": {"sv": "Inga handlingar matchar.", "en": "No records match."},
    "archive.dated": {"sv": "Daterad", "en": "Dated"},
    "archive.account": {"sv": "Konto", "en": "Account"},
    "archive.author": {"sv": "Författare", "en": "Author"},
    "archive.text": {"sv": "Text (senaste versionen)", "en": "Text (latest version)"},
    "archive.sealed": {"sv": "[sekretess]", "en": "[confidential]"},
    "archive.export": {"sv": "Ta ut hela träfflistan", "en": "Export every result"},
    "archive.export_intro": {
        "sv": "Varje handling med alla versioner, lägen och kedjans kontrollsummor.",
        "en": "Every record with all its versions, states and the chain's checksums.",
    },
    "archive.export_as": {"sv": "Ladda ner som", "en": "Download as"},
    "archive.record": {"sv": "Handling", "en": "Record"},
    "archive.unknown": {"sv": "Okänd", "en": "Unknown"},
    "archive.url": {"sv": "Adress", "en": "Address"},
    "archive.diary_number": {"sv": "Diarienummer", "en": "Diary number"},
    "archive.minor": {
        "sv": "Av ringa betydelse, registreras inte (P10.7)",
        "en": "Of obviously minor importance, not registered (P10.7)",
    },
    "archive.not_registered": {"sv": "Inte registrerad", "en": "Not registered"},
    "archive.confidential": {"sv": "Kan vara sekretess", "en": "May be confidential"},
    "archive.flagged": {"sv": "Flaggad", "en": "Flagged"},
    "archive.escalated": {"sv": "eskalerad", "en": "escalated"},
    "archive.versions": {"sv": "Versioner", "en": "Versions"},
    "archive.version": {"sv": "Version", "en": "Version"},
    "archive.no_versions": {"sv": "Ingen text är bevarad.", "en": "No text is kept."},
    "archive.states": {"sv": "Lägen på plattformen", "en": "States on the platform"},
    "archive.platform": {"sv": "Plattformen", "en": "The platform"},
    "archive.why": {"sv": "Varför", "en": "Why"},
    "archive.decisions": {"sv": "Beslut", "en": "Decisions"},
    "archive.entries": {"sv": "Kedjans poster", "en": "Chain entries"},
    "archive.entries_intro": {
        "sv": "Posterna i hashkedjan som visar att handlingen inte ändrats (P3.7b, L6).",
        "en": "The hash chain's entries that prove the record unaltered (P3.7b, L6).",
    },
    "archive.register": {"sv": "Registrera i diariet", "en": "Register in the diarium"},
    "archive.reason": {"sv": "Skäl", "en": "Reason"},
    "archive.reason_hint": {
        "sv": "Skälet blir offentligt i diariet: skriv inget personnummer (L7).",
        "en": "The reason becomes public in the diarium: no personnummer (L7).",
    },
    "archive.registered": {"sv": "Registrerad", "en": "Registered"},
    "archive.holds": {"sv": "Bevarandebeslut (spärrar)", "en": "Legal holds"},
    "archive.holds_intro": {
        "sv": "Det en spärr omfattar gallras aldrig förrän spärren hävs (L6).",
        "en": "Nothing a hold covers is culled until the hold is lifted (L6).",
    },
    "archive.holds_all": {"sv": "Visa även hävda spärrar", "en": "Show lifted holds too"},
    "archive.holds_in_force": {"sv": "Visa bara gällande spärrar", "en": "Holds in force only"},
    "archive.no_holds": {"sv": "Inga spärrar.", "en": "No holds."},
    "archive.set_by": {"sv": "Satt av", "en": "Set by"},
    "archive.lifted_by": {"sv": "Hävd av", "en": "Lifted by"},
    "archive.lift_reason": {"sv": "Skäl att häva", "en": "Reason to lift"},
    "archive.lift": {"sv": "Häv spärren", "en": "Lift the hold"},
    "archive.new_hold": {"sv": "Ny spärr", "en": "New hold"},
    "archive.scope": {"sv": "Omfattning", "en": "Scope"},
    "archive.set_hold": {"sv": "Sätt spärren", "en": "Set the hold"},
    "archive.hold_set": {"sv": "Spärren är satt.", "en": "The hold is set."},
    "archive.hold_lifted": {"sv": "Spärren är hävd.", "en": "The hold is lifted."},
    "archive.registered_done": {"sv": "Registrerad i diariet.", "en": "Registered."},
    "archive.diarium": {"sv": "Diariet", "en": "The diarium"},
    "archive.year": {"sv": "År", "en": "Year"},
    "archive.sender": {"sv": "Avsändare", "en": "Sender"},
    "archive.summary": {"sv": "Ärendemening", "en": "Summary"},
    "archive.no_entries": {"sv": "Inga diarieposter.", "en": "No diary entries."},
    "archive.snapshots": {"sv": "Ögonblicksbilder", "en": "Snapshots"},
    "archive.taken": {"sv": "Tagen", "en": "Taken"},
    "archive.file": {"sv": "Fil", "en": "File"},
    "archive.download_pdf": {"sv": "Ladda ner PDF/A", "en": "Download PDF/A"},
    "archive.no_snapshots": {"sv": "Inga ögonblicksbilder.", "en": "No snapshots."},
    "archive.take_snapshot": {"sv": "Ta en ögonblicksbild nu", "en": "Take a snapshot now"},
    "archive.snapshot_taken": {"sv": "Ögonblicksbilden är tagen.", "en": "The snapshot is taken."},
    # Culling (gallring, P10.2, L6, L7) and the access log (L4)
    "culling.title": {"sv": "Gallring", "en": "Culling"},
    "culling.intro": {
        "sv": "Gallring sker bara enligt ett beslutat gallringsbeslut och aldrig av det som "
        "en spärr skyddar (P10.2, L6, L7). Gallrat går inte att få tillbaka; gallringsloggen "
        "bevaras.",
        "en": "Records are culled only under a decided retention rule, never while a hold "
        "protects them (P10.2, L6, L7). Culled records cannot be restored; the culling log "
        "is kept.",
    },
    "culling.run": {"sv": "Gallra", "en": "Cull"},
    "culling.dry_button": {"sv": "Visa vad som skulle gallras", "en": "Show what would be culled"},
    "culling.confirm": {
        "sv": "Jag har sett vad som gallras och vill gallra det nu. Det går inte att ångra.",
        "en": "I have seen what goes and want to cull it now. This cannot be undone.",
    },
    "culling.confirm_missing": {
        "sv": "Kryssa i att du vill gallra: gallring går inte att ångra.",
        "en": "Tick that you want to cull: culling cannot be undone.",
    },
    "culling.cull_button": {"sv": "Gallra nu", "en": "Cull now"},
    "culling.dry_result": {"sv": "Skulle gallras", "en": "Would be culled"},
    "culling.result": {"sv": "Gallrat", "en": "Culled"},
    "culling.nothing": {
        "sv": "Inget får gallras nu enligt gallringsbesluten.",
        "en": "Nothing may be culled now under the retention rules.",
    },
    "culling.rule": {"sv": "Regel", "en": "Rule"},
    "culling.decision": {"sv": "Beslut", "en": "Decision"},
    "culling.records": {"sv": "handlingar", "en": "records"},
    "culling.log": {"sv": "Gallringslogg", "en": "Culling log"},
    "culling.no_log": {"sv": "Inget är gallrat.", "en": "Nothing has been culled."},
    "culling.culled_at": {"sv": "Gallrat", "en": "Culled"},
    "culling.count": {"sv": "Antal", "en": "Count"},
    "culling.finished": {"sv": "Avslutad", "en": "Finished"},
    "culling.unfinished": {"sv": "Inte avslutad", "en": "Not finished"},
    "culling.spared": {"sv": "Sparade", "en": "Spared"},
    "culling.spared.hold": {"sv": "spärr", "en": "hold"},
    "culling.spared.awaits_registration": {
        "sv": "väntar på registrering",
        "en": "awaits registration",
    },
    "access.title": {"sv": "Åtkomstlogg", "en": "Access log"},
    "access.intro": {
        "sv": "Vem som sökt och tagit ut vad ur arkivet, och när, nyast först (L4).",
        "en": "Who searched and exported what from the archive, and when, newest first (L4).",
    },
    "access.limit": {"sv": "Antal per sida", "en": "Entries per page"},
    "access.at": {"sv": "Tid", "en": "Time"},
    "access.who": {"sv": "Vem", "en": "Who"},
    "access.action": {"sv": "Vad", "en": "What"},
    "access.action.search": {"sv": "Sökning", "en": "Search"},
    "access.action.export": {"sv": "Uttag", "en": "Export"},
    "access.filters": {"sv": "Sökvillkor", "en": "Filters"},
    "access.no_filters": {"sv": "Inga", "en": "None"},
    "access.count": {"sv": "Handlingar", "en": "Records"},
    "access.none": {"sv": "Inga poster.", "en": "No entries."},
    "access.older": {"sv": "Äldre poster", "en": "Older entries"},
    "access.newest": {"sv": "Till de nyaste", "en": "To the newest"},
    "author.kommun": {"sv": "kommunen", "en": "the kommun"},
    "author.public": {"sv": "allmänheten", "en": "the public"},
    "origin.inkommen": {"sv": "Inkommen", "en": "Received (inkommen)"},
    "origin.upprättad": {"sv": "Upprättad", "en": "Drawn up (upprättad)"},
    "kind.post": {"sv": "Inlägg", "en": "Post"},
    "kind.comment": {"sv": "Kommentar", "en": "Comment"},
    "kind.account": {"sv": "Konto", "en": "Account"},
    "pstate.published": {"sv": "Publicerad", "en": "Published"},
    "pstate.edited": {"sv": "Redigerad", "en": "Edited"},
    "pstate.hidden": {"sv": "Dold", "en": "Hidden"},
    "pstate.removed": {"sv": "Borttagen av kommunen", "en": "Removed by the kommun"},
    "pstate.deleted": {"sv": "Raderad på plattformen", "en": "Deleted on the platform"},
    "hold.account": {"sv": "Ett konto", "en": "An account"},
    "hold.case": {"sv": "Ett ärende", "en": "A case"},
    "hold.range": {"sv": "En tidsperiod", "en": "A period"},
    # Acknowledging an escalation (web/pages/notifications.py)
    "ack.title": {"sv": "Kvittera larm", "en": "Acknowledge an alert"},
    "ack.thanks": {"sv": "Tack, larmet är kvitterat", "en": "Thank you: acknowledged"},
    "ack.already": {"sv": "Larmet var redan kvitterat", "en": "Already acknowledged"},
    "ack.what": {"sv": "Gäller", "en": "About"},
    "ack.opened": {"sv": "Larmet kom", "en": "Raised"},
    "ack.issued_to": {"sv": "Länken är utfärdad till", "en": "The link was issued to"},
    "ack.state": {"sv": "Läge", "en": "State"},
    "ack.state.open": {"sv": "Inte kvitterat", "en": "Not acknowledged"},
    "ack.state.last_level": {
        "sv": "Inte kvitterat; alla nivåer har larmats",
        "en": "Not acknowledged; every level has been told",
    },
    "ack.state.acknowledged": {"sv": "Kvitterat", "en": "Acknowledged"},
    "ack.kind.account.unattended": {"sv": "Konto utan bemanning", "en": "Unattended account"},
    "ack.kind.moderation.escalated": {"sv": "Eskalerat ärende", "en": "Escalated case"},
    "ack.explain": {
        "sv": "När du kvitterar vet övriga att du tar hand om det, och nästa nivå meddelas "
        "inte (P5.6).",
        "en": "Acknowledging tells the others you are handling it; the next level is not "
        "told (P5.6).",
    },
    "ack.button": {"sv": "Kvittera", "en": "Acknowledge"},
    "ack.by_you": {
        "sv": "Kvitterat av dig {at}. Nästa nivå meddelas inte.",
        "en": "Acknowledged by you at {at}. The next level is not told.",
    },
    "ack.by_other": {
        "sv": "Kvitterat {at} av någon annan som larmet gick till. Nästa nivå meddelas inte.",
        "en": "Acknowledged at {at} by someone else it was sent to. The next level is not told.",
    },
    "ack.broken": {"sv": "Länken fungerar inte", "en": "The link does not work"},
    "ack.broken_help": {
        "sv": "Använd länken i meddelandet som den är, eller kvittera i Kanalvakt.",
        "en": "Use the link in the message as it is, or acknowledge in Kanalvakt.",
    },
    "ack.unknown": {
        "sv": "Larmet som länken gäller finns inte (längre) här.",
        "en": "The escalation this link is for does not exist here (any more).",
    },
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
