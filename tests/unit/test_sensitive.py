"""P3.5: where credentials are kept may be written down, never the password itself;
L7, P7: no personnummer or samordningsnummer in text the kommun keeps or shows."""

import pytest

from shared.sensitive import password_in, personnummer_in


@pytest.mark.parametrize(
    "text",
    [
        "Kassaskåpet hos kommunchefen, lösenord: Hemligt123",
        "pwd=abc",
        "password is hunter2",
        "Lösenordet är Sommar2026!",
        "losenord: sommar",
        "Lösen: sommar, användare: nora",
        "PIN-kod: 1234",
        "pinkoden är 0000",
        "Stadshuset, PIN 4711",
        "i kassaskåpet, kod 4711",
        "Kod till kassaskåpet: 4711",
        "Lösenord till Facebook-kontot: Nora.Kommun",
        "Password: 'correct horse battery staple'",
        "passwd = x",
        "Lösenord – hunter2",
        "lösenord Hemligt123",
        "Lösenord:\nHemligt123",
        "PW: Kv!st",
        "The passcode was 8812",
    ],
)
def test_P3_5_a_written_password_is_found(text: str) -> None:
    assert password_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "lösenordet finns i kassaskåpet",
        "Lösenordet förvaras i kassaskåpet hos kommunchefen",
        "Kassaskåpet hos kommunchefen, deponerat 2026-09-01",
        "Password kept in KeePass, folder Social media",
        "Lösenord: se kassaskåpet",
        "Lösenord: i kassaskåpet hos informationsansvarig",
        "Lösenord: Kassaskåpet hos kommunchefen",
        "Lösenord: ****",
        "pwd=xxxx",
        "password is in the safe at the town hall",
        "Lösenord: 1Password, valvet Kommunikation",
        "Inloggningsuppgifter i 1Password, valvet Kommunikation",
        "Lösenord: IT-avdelningen har det",
        "PIN-koden finns hos kommunchefen",
        "Stadshuset, Prästgatan 6, zip code 71380",
        "Nyckelkoden finns hos vaktmästaren",
        "Lösenordet är hemligt och finns hos informationsansvarig",
        "",
    ],
)
def test_P3_5_where_a_password_is_kept_is_not_a_password(text: str) -> None:
    assert not password_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "Kontaktperson 19121212-1212",
        "pnr 121212+1212",
        "samordningsnummer 701063-2391",
    ],
)
def test_L7_personnummer_in_text(text: str) -> None:
    assert personnummer_in(text)


@pytest.mark.parametrize(
    "text", ["Faktura 1234567890", "Ring 0587-812 00", "811218-9875", "Kassaskåp rum 12"]
)
def test_L7_other_numbers_are_not_personnummer(text: str) -> None:
    assert not personnummer_in(text)
