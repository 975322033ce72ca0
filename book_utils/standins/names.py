"""The surnames stand-in of notebook 09-2: the PyTorch tutorial's ``names/*.txt`` layout filled from Faker.

The tutorial "Classifying names with a character-level RNN" reads one text file per language with one
surname per line (18 languages, about 20,000 names). Its archive has no published checksum, so the book
never downloads it. Offline, :func:`write_names` writes the same layout from the surname tables that Faker
ships with its person providers (no network, no random draws: the tables are read, not sampled), for the
14 languages of :data:`LANGUAGES` whose tables are in Latin script or have a romanised list. The tables
change between Faker releases, so the generated folder's name carries Faker's version. The loader, which
reads real and generated folders with the same code, is :mod:`book_utils.datasets.names`.
"""

from __future__ import annotations

import importlib
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

VERSION = 1

ALPHABET: str = string.ascii_letters + " .,;'-"
"""The 58 characters a cleaned name may hold (the tutorial's 57 plus the hyphen), in one-hot order."""

#: Language -> the Faker person providers (locale, attribute) whose surname tables make it up.
LANGUAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "Chinese": (("zh_CN", "last_romanized_names"), ("zh_TW", "last_romanized_names")),
    "Czech": (("cs_CZ", "last_names"),),
    "Dutch": (("nl_NL", "last_names"), ("nl_BE", "last_names")),
    "English": (("en_US", "last_names"), ("en_GB", "last_names"), ("en_NZ", "last_names"), ("en", "last_names")),
    "Finnish": (("fi_FI", "last_names"),),
    "French": (("fr_FR", "last_names"), ("fr_BE", "last_names"), ("fr_CA", "last_names"), ("fr_CH", "last_names")),
    "German": (("de_DE", "last_names"), ("de_AT", "last_names"), ("de_CH", "last_names"), ("de_LU", "last_names"),
               ("de_LI", "last_names")),
    "Irish": (("ga_IE", "last_names"),),
    "Italian": (("it_IT", "last_names"),),
    "Japanese": (("ja_JP", "last_romanized_names"),),
    "Polish": (("pl_PL", "male_last_names"), ("pl_PL", "unisex_last_names")),
    "Portuguese": (("pt_BR", "last_names"), ("pt_PT", "last_names")),
    "Spanish": (("es_ES", "last_names"), ("es_MX", "last_names"), ("es_CO", "last_names"), ("es_AR", "last_names"),
                ("es_CL", "last_names")),
    "Swedish": (("sv_SE", "last_names"),),
}


_NO_DECOMPOSITION = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "ß": "ss",
                                   "Æ": "Ae", "æ": "ae", "Œ": "Oe", "œ": "oe", "ı": "i"})


def to_ascii(name: str) -> str:
    """``name`` in plain ASCII: accents split off by Unicode NFKD and dropped, like every other character
    outside :data:`ALPHABET`; surrounding blanks removed; an all-capital name (``"CHAN"``) capitalised.

    The few Latin letters that NFKD cannot split (``Ł``, ``ø``, ``ß``...) are spelled out first: the
    tutorial's converter drops them, turning "Pawłowski" into "Pawowski"."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_NO_DECOMPOSITION))
    text = " ".join("".join(c for c in decomposed if c in ALPHABET).split())
    return text.capitalize() if text.isupper() and len(text) > 1 else text


def unambiguous(by_language: dict[str, Iterable[str]]) -> dict[str, list[str]]:
    """Each language's distinct names, sorted, without the names that two or more languages share (such a
    name has no single right answer: "Khan" is English and Swedish in Faker's tables)."""
    distinct = {lang: set(names) for lang, names in by_language.items()}
    count = Counter(name for names in distinct.values() for name in names)
    return {lang: sorted(n for n in names if count[n] == 1) for lang, names in distinct.items()}


def faker_version() -> str:
    """The installed Faker's version (part of the generated folder's name: its tables change by release)."""
    try:
        import faker
    except ImportError as exc:  # pragma: no cover - faker is a dependency of book_utils
        raise ImportError("the names stand-in needs Faker: `pip install faker`") from exc
    return str(faker.VERSION)


def faker_surnames() -> dict[str, list[str]]:
    """The raw (not yet cleaned) surnames of every language in :data:`LANGUAGES`, from Faker's tables."""
    faker_version()
    out: dict[str, list[str]] = {}
    for lang, sources in LANGUAGES.items():
        names: list[str] = []
        for locale, attr in sources:
            table = getattr(importlib.import_module(f"faker.providers.person.{locale}").Provider, attr)
            names.extend(table)  # a tuple of names, or a dict of name -> weight
        out[lang] = names
    return out


def write_names(folder: Path | str) -> dict[str, int]:
    """Write ``<folder>/names/<Language>.txt`` (one cleaned surname per line, sorted, UTF-8) from Faker's
    tables and return the number of names per language (names shared by two languages left out)."""
    cleaned = {lang: [to_ascii(n) for n in names] for lang, names in faker_surnames().items()}
    kept = unambiguous({lang: [n for n in names if n] for lang, names in cleaned.items()})
    out = Path(folder) / "names"
    out.mkdir(parents=True, exist_ok=True)
    for lang, names in kept.items():
        (out / f"{lang}.txt").write_text("".join(n + "\n" for n in names), encoding="utf-8")
    return {lang: len(names) for lang, names in kept.items()}
