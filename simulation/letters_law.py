"""The demo's letters abroad: a customer in Germany, Spain, Italy or the United Kingdom
belongs to the company of its country and receives its letters in its language, from that
company, citing that company's late-payment law with that law's figures.

Read from what the print room received (each letter's JSON manifest and its PDF, as the
notifier's file drop writes them) and checked against the rules as the issue and
docs/law.md state them, computed here independently of the kit's ``late_payment``: the
statutory rate of the letter's day from the reference rates file (Germany: the
Basiszinssatz of the half-year + 9 points, + 5 for a consumer; Spain and Italy: the ECB
rate of the half-year + 8; the UK: Bank Rate on the 30 June / 31 December before + 8), the
fixed sum (40 EUR per invoice; in the UK GBP 40, 70 or 100 per invoice by its size), and
for a formal notice the wording that makes it one.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import combinations_with_replacement
from pathlib import Path

from services.runtime.late_payment import RateKind, ReferenceRate, ReferenceRates
from services.runtime.reference_rates import parse_interest_rates
from simulation.pdf_text import page_text

RATES_FILE = Path(__file__).resolve().parents[1] / "reference" / "interest-rates.csv"


@dataclass(frozen=True)
class CountryLaw:
    """What a letter of the company of ``country`` must say, in its language."""

    country: str
    company: str
    legal_name: str
    language: str
    notice_subject: str  # a formal notice's subject starts with it
    notice_wording: str  # the sentence that makes it a formal notice
    interest: re.Pattern[str]  # the law's interest sentence; group ``rate``
    consumer_interest: re.Pattern[str] | None  # the consumer's, where the law gives one
    indemnity: re.Pattern[str]  # the fixed sum's sentence; groups ``total``, ``count``
    reference: RateKind
    margin: Decimal
    consumer_margin: Decimal | None
    fixed_sums: tuple[Decimal, ...]  # what one late invoice may cost
    currency_symbol: str


_NUMBER = r"(?P<{}>[\d.,\u202f\u00a0]+)"
LAWS: dict[str, CountryLaw] = {
    "DE": CountryLaw(
        "DE",
        "DE01",
        "Relance Demo Deutschland GmbH",
        "de",
        "Letzte Mahnung",
        "Sie befinden sich mit der Zahlung in Verzug (§ 286 BGB).",
        re.compile(r"Nach § 288 BGB sind .*? mit " + _NUMBER.format("rate") + r" % pro Jahr"),
        re.compile(
            r"Nach § 288 Abs\. 1 BGB, der für Verbraucher gilt, sind .*? mit "
            + _NUMBER.format("rate")
            + r" % pro Jahr"
        ),
        re.compile(
            r"Pauschale nach § 288 Abs\. 5 BGB zu zahlen, insgesamt "
            + _NUMBER.format("total")
            + r"\s?€ für (?P<count>\d+) Rechnung"
        ),
        "de_base_rate",
        Decimal(9),
        Decimal(5),
        (Decimal(40),),
        "€",
    ),
    "ES": CountryLaw(
        "ES",
        "ES01",
        "Relance Demo España S.L.",
        "es",
        "Requerimiento formal de pago",
        "les requerimos formalmente el pago",
        re.compile(
            r"Conforme al artículo 7 de la Ley 3/2004, de 29 de diciembre, .*? al tipo de "
            + _NUMBER.format("rate")
            + r" % anual"
        ),
        None,
        re.compile(
            r"\(artículo 8 de la Ley 3/2004\), es decir "
            + _NUMBER.format("total")
            + r"\s?€ por (?P<count>\d+) factura"
        ),
        "ecb_mro",
        Decimal(8),
        None,
        (Decimal(40),),
        "€",
    ),
    "IT": CountryLaw(
        "IT",
        "IT01",
        "Relance Demo Italia S.r.l.",
        "it",
        "Costituzione in mora",
        "costituzione in mora ai sensi dell'art. 1219 del Codice civile",
        re.compile(
            r"Ai sensi dell'art\. 5 del D\.Lgs\. 9 ottobre 2002, n\. 231, .*? al tasso del "
            + _NUMBER.format("rate")
            + r" % annuo"
        ),
        None,
        re.compile(
            r"ai sensi dell'art\. 6 del D\.Lgs\. 231/2002, pari a "
            + _NUMBER.format("total")
            + r"\s?€ per (?P<count>\d+) fattur"
        ),
        "ecb_mro",
        Decimal(8),
        None,
        (Decimal(40),),
        "€",
    ),
    "GB": CountryLaw(
        "GB",
        "GB01",
        "Relance Demo UK Ltd",
        "en",
        "Letter before action",
        "This is a letter before action.",
        re.compile(
            r"Under the Late Payment of Commercial Debts \(Interest\) Act 1998, .*? at "
            + _NUMBER.format("rate")
            + r"% a year"
        ),
        None,
        re.compile(
            r"\(section 5A of the 1998 Act\), that is £"
            + _NUMBER.format("total")
            + r" for (?P<count>\d+) invoice"
        ),
        "boe_base_rate",
        Decimal(8),
        None,
        (Decimal(40), Decimal(70), Decimal(100)),
        "£",
    ),
}
# What only one country's letters may cite: another company's name or law is a mistake.
_MARKS = {
    "FR": ("Code de commerce", "L441-10", "Relance Démo France SAS"),
    "DE": ("§ 288", "Relance Demo Deutschland GmbH"),
    "ES": ("Ley 3/2004", "Relance Demo España S.L."),
    "IT": ("231/2002", "Relance Demo Italia S.r.l."),
    "GB": ("1998 Act", "Act 1998", "Relance Demo UK Ltd"),
}


@dataclass(frozen=True)
class Addressee:
    """The customer a letter is for, as the demo's history made it."""

    country: str
    company_code: str
    language: str
    customer_type: str


@dataclass(frozen=True)
class Letter:
    """A letter the print room received: its manifest's facts and its text."""

    name: str
    customer_id: str
    language: str
    subject: str
    day: date
    text: str  # every page, lines joined by spaces (sentences wrap across lines)


def letters_in(directory: Path, customers: Collection[str] | None = None) -> list[Letter]:
    """Every letter of the print room's folder (only those to ``customers`` when given),
    manifest and PDF read back."""
    if not directory.exists():
        return []
    found = []
    for path in sorted(directory.glob("reminder-*.json")):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if customers is not None and str(manifest["customer_id"]) not in customers:
            continue
        pdf = (directory / str(manifest["document"])).read_bytes()
        found.append(
            Letter(
                path.stem,
                str(manifest["customer_id"]),
                str(manifest["language"]),
                str(manifest["subject"]),
                datetime.fromisoformat(str(manifest["prepared_at"])).date(),
                " ".join(page_text(pdf).split()),
            )
        )
    return found


def demo_rates(path: Path = RATES_FILE) -> ReferenceRates:
    """The reference rates the demo publishes (the repository's file)."""
    return ReferenceRates(
        ReferenceRate(r.kind, r.valid_from, r.rate)
        for r in parse_interest_rates(path.read_text(encoding="utf-8"))
    )


def _number(text: str) -> Decimal:
    digits = text.replace("\u202f", "").replace("\u00a0", "").rstrip(".,")
    # 1.234,56 (de, es, it) or 1,234.56 (en)
    german = "," in digits
    return Decimal(digits.replace(".", "").replace(",", ".") if german else digits.replace(",", ""))


def statutory_rate(law: CountryLaw, consumer: bool, day: date, rates: ReferenceRates) -> Decimal:
    """The yearly rate a letter of ``day`` states: the reference rate of the half-year
    (the UK: of the 30 June or 31 December before) plus the law's margin."""
    margin = law.consumer_margin if consumer else law.margin
    assert margin is not None
    start = date(day.year, 1 if day.month <= 6 else 7, 1)
    fixed_on = start - timedelta(days=1) if law.country == "GB" else start
    return rates.in_force(law.reference, fixed_on) + margin


def _possible_totals(law: CountryLaw, count: int) -> set[Decimal]:
    return {sum(c, Decimal(0)) for c in combinations_with_replacement(law.fixed_sums, count)}


def problems_of(letter: Letter, addressee: Addressee, rates: ReferenceRates) -> list[str]:
    """Why ``letter`` is not its company's, in its language, under its law; empty if it is."""
    law = LAWS[addressee.country]
    where = f"{letter.name} ({addressee.country} customer {letter.customer_id})"
    problems = []
    if addressee.company_code != law.company:
        problems.append(f"{where}: belongs to {addressee.company_code}, not {law.company}")
    if letter.language != law.language:
        problems.append(f"{where}: written in {letter.language!r}, not {law.language!r}")
    if law.legal_name not in letter.text:
        problems.append(f"{where}: does not come from {law.legal_name}")
    for country, marks in _MARKS.items():
        if country != law.country and any(m in letter.text for m in marks):
            problems.append(f"{where}: cites {country}'s company or law")
    if letter.subject.startswith(law.notice_subject) and law.notice_wording not in letter.text:
        problems.append(f"{where}: a formal notice without {law.notice_wording!r}")
    consumer = addressee.customer_type == "consumer"
    pattern = law.consumer_interest if consumer else law.interest
    stated = pattern.search(letter.text) if pattern is not None else None
    if stated is not None:
        expected = statutory_rate(law, consumer, letter.day, rates)
        if _number(stated["rate"]) != expected:
            problems.append(
                f"{where}: states {stated['rate']} % a year, the law gives {expected} on "
                f"{letter.day}"
            )
    indemnity = law.indemnity.search(letter.text)
    if indemnity is not None:
        if consumer:
            problems.append(f"{where}: claims a fixed sum from a consumer")
        total, count = _number(indemnity["total"]), int(indemnity["count"])
        if total not in _possible_totals(law, count):
            problems.append(
                f"{where}: claims {law.currency_symbol}{total} for {count} invoice(s), not "
                f"{' or '.join(str(s) for s in law.fixed_sums)} each"
            )
    return problems


def cites_its_law(letter: Letter, addressee: Addressee) -> bool:
    """The letter states its law's interest (the consumer's, for a consumer)."""
    law = LAWS[addressee.country]
    consumer = addressee.customer_type == "consumer"
    pattern = law.consumer_interest if consumer else law.interest
    return pattern is not None and pattern.search(letter.text) is not None


@dataclass(frozen=True)
class LawVerdict:
    letters: Counter[str]  # letters per country
    citing: Counter[str]  # of which stating their law's interest
    notices: Counter[str]  # of which formal notices
    problems: list[str]

    def ok(self, require_each: bool) -> bool:
        """No problem and, when ``require_each``, in each country a formal notice citing
        its law."""
        if self.problems:
            return False
        return not require_each or all(self.citing[c] and self.notices[c] for c in LAWS)

    def line(self) -> str:
        counts = ", ".join(
            f"{c} {self.letters[c]} ({self.notices[c]} formal notices, {self.citing[c]} "
            "citing its law)"
            for c in LAWS
        )
        return (
            "letters abroad in the customer's language, from its company, under its law: " + counts
        )


def law_verdict(
    letters: Iterable[Letter], addressees: Mapping[str, Addressee], rates: ReferenceRates
) -> LawVerdict:
    """Every letter to a customer in Germany, Spain, Italy or the UK, checked."""
    counts: Counter[str] = Counter()
    citing: Counter[str] = Counter()
    notices: Counter[str] = Counter()
    problems: list[str] = []
    for letter in letters:
        addressee = addressees.get(letter.customer_id)
        if addressee is None or addressee.country not in LAWS:
            continue
        law = LAWS[addressee.country]
        counts[law.country] += 1
        found = problems_of(letter, addressee, rates)
        problems.extend(found)
        if not found and cites_its_law(letter, addressee):
            citing[law.country] += 1
        if letter.subject.startswith(law.notice_subject):
            notices[law.country] += 1
    return LawVerdict(counts, citing, notices, problems)
