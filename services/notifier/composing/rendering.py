"""Rendering reminders with Jinja2: a sandboxed environment, one template set per name and language.

A template set is a folder ``<templates>/<name>/<language>/`` holding ``subject.txt``,
``body.txt`` and ``body.html``; partials shared by every set live in ``<templates>/_partials``.
HTML is autoescaped; text is not. Undefined variables are errors. Every set found is rendered
once against a sample reminder when the catalogue is loaded, so that a broken template stops
the service at start with the file and the error, instead of failing on a customer later;
so does a set whose editable paragraphs are marked twice, or differ between its bodies or
its languages (:mod:`services.notifier.composing.editable_marks`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import jinja2
import yaml
from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.numbers import format_currency, format_decimal
from jinja2.sandbox import SandboxedEnvironment

from services.notifier.composing import editable_marks
from services.notifier.composing.companies import CompanyIdentity
from services.notifier.domain.commitments import BrokenCommitment
from services.notifier.domain.statement import Handling, Statement
from services.notifier.errors import TemplateConfigurationError, TemplateNotFound

DEFAULT_TEMPLATES = Path(__file__).parent.parent / "templates"
PARTS = ("subject.txt", "body.txt", "body.html")
_CODE_THEN_DIGIT = re.compile(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")
DateWidth = Literal["short", "medium", "long", "full"]
Medium = Literal["email", "letter"]
MEDIA: tuple[Medium, ...] = ("email", "letter")


@dataclass(frozen=True)
class Creditor:
    """The creditor company's details printed on every reminder (its configured identity)."""

    name: str
    address: tuple[str, ...]
    email: str
    phone: str | None = None
    registration: str | None = None
    iban: str | None = None
    bic: str | None = None
    code: str = ""
    country: str = "FR"
    city: str = ""
    vat_number: str | None = None
    return_address: tuple[str, ...] = ()
    logo: Path | None = None
    signatory_name: str = ""
    signatory_title: str = ""
    notice_days: int = 8

    @classmethod
    def of(cls, code: str, identity: CompanyIdentity) -> Creditor:
        return cls(
            name=identity.legal_name,
            address=identity.address,
            email=identity.email,
            phone=identity.phone,
            registration=identity.registration,
            iban=identity.iban,
            bic=identity.bic,
            code=code,
            country=identity.country,
            city=identity.city,
            vat_number=identity.vat_number,
            return_address=identity.return_address,
            logo=identity.logo,
            signatory_name=identity.signatory.name,
            signatory_title=identity.signatory.title,
            notice_days=identity.notice_days,
        )


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def locale_of(language: str) -> Locale:
    """Babel's locale of a message's language (``fr``, ``en-GB``); English if Babel has none."""
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def regional(language: str, country: str) -> str:
    """The creditor country's variant of ``language`` when it is that country's own
    language (``en_GB`` for a British company writing in English: ``16 March 2026``),
    else ``language`` as it is (a French company writing in English keeps ``en``)."""
    try:
        if Locale.parse(f"und_{country}").language == language:
            return f"{language}_{country}"
    except (UnknownLocaleError, ValueError):
        pass
    return language


@functools.lru_cache(maxsize=4096)  # an email writes each amount 3 or 4 times (text, HTML, PDF)
def format_money(amount: Decimal, currency: str, language: str) -> str:
    """``1 234,56 €`` in French, ``€1,234.56`` in English, ``¥1,235``, ``KWD 1.500``: Babel's
    pattern for the language and the currency's own digits (0 for JPY, 3 for KWD)."""
    text = format_currency(amount, currency, locale=locale_of(language), currency_digits=True)
    # CLDR's currency spacing, which Babel does not apply: a code next to a digit gets a
    # no-break space (``KWD 1.500``, never ``KWD1.500``); symbols such as € or $ do not.
    return _CODE_THEN_DIGIT.sub("\u00a0", text)


@functools.lru_cache(maxsize=4096)  # a statement writes its few dates in text, HTML and PDF
def format_date(value: date, language: str, width: DateWidth = "long") -> str:
    """``14 février 2026``, ``February 14, 2026``: Babel's date in the message's language."""
    return babel_format_date(value, format=width, locale=locale_of(language))


@functools.lru_cache(maxsize=1024)
def format_rate(value: Decimal, language: str) -> str:
    """A percentage figure as the language writes numbers: ``12,15`` in French."""
    return format_decimal(value, format="#,##0.##", locale=locale_of(language))


HANDLING_LABELS = {
    "fr": {
        "dispute": "en litige depuis le {since}",
        "promise": "paiement promis pour le {until}",
        "plan": "dans un échéancier de paiement",
        "dispute_undated": "en litige",
        "excluded": "non compris dans le total",
    },
    "en": {
        "dispute": "in dispute since {since}",
        "promise": "payment promised for {until}",
        "plan": "in a payment plan",
        "dispute_undated": "in dispute",
        "excluded": "not counted in the total",
    },
    "de": {
        "dispute": "strittig seit dem {since}",
        "promise": "Zahlung zugesagt für den {until}",
        "plan": "in einer Ratenzahlungsvereinbarung",
        "dispute_undated": "strittig",
        "excluded": "nicht in der Summe enthalten",
    },
    "es": {
        "dispute": "en disputa desde el {since}",
        "promise": "pago prometido para el {until}",
        "plan": "en un plan de pagos",
        "dispute_undated": "en disputa",
        "excluded": "no incluida en el total",
    },
    "it": {
        "dispute": "contestata dal {since}",
        "promise": "pagamento promesso per il {until}",
        "plan": "in un piano di rientro",
        "dispute_undated": "contestata",
        "excluded": "non compresa nel totale",
    },
}


def format_handling(handling: Handling | None, language: str) -> str:
    """What handles an invoice elsewhere, e.g. ``in dispute since 18/02/2026``; '' if none."""
    if handling is None:
        return ""
    labels = HANDLING_LABELS.get(language.split("_")[0].split("-")[0], HANDLING_LABELS["en"])
    kind: str = handling.kind
    if kind == "dispute" and handling.since is None:
        kind = "dispute_undated"  # a dispute recorded before its date was kept
    since = format_date(handling.since, language) if handling.since else ""
    until = format_date(handling.until, language) if handling.until else ""
    text = labels[kind].format(since=since, until=until)
    return f"{text}, {labels['excluded']}"


_REWRITTEN: ContextVar[Mapping[str, str] | None] = ContextVar("rewritten", default=None)
_OFFERED: ContextVar[set[str] | None] = ContextVar("offered", default=None)


def editable(name: str, text: str) -> str:
    """A paragraph a template offers to rewrite (``{{ editable("opening", "...") }}``): the
    collector's text when a proposal's edit rewrote it, else the template's own."""
    offered = _OFFERED.get()
    if offered is not None:
        offered.add(name)
    return (_REWRITTEN.get() or {}).get(name, text)


@contextmanager
def rewritten(paragraphs: Mapping[str, str]) -> Iterator[set[str]]:
    """Render with ``paragraphs`` rewritten; yields the names the templates offered."""
    offered: set[str] = set()
    paragraphs_token = _REWRITTEN.set(dict(paragraphs))
    offered_token = _OFFERED.set(offered)
    try:
        yield offered
    finally:
        _REWRITTEN.reset(paragraphs_token)
        _OFFERED.reset(offered_token)


NAMES_FILE = "names.yaml"


def _names_by_level(path: Path) -> frozenset[str]:
    """The template names written with their step's level set (``names.yaml``'s
    ``by_level``); none when the folder has no such file."""
    if not path.is_file():
        return frozenset()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateConfigurationError(f"{path}: {exc}") from exc
    names = raw.get("by_level", []) if isinstance(raw, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TemplateConfigurationError(f"{path}: by_level must be a list of template names")
    return frozenset(names)


def _environment(directory: Path) -> SandboxedEnvironment:
    environment = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(directory)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["money"] = format_money
    environment.filters["day"] = format_date
    environment.filters["rate"] = format_rate
    environment.filters["handling"] = format_handling
    environment.globals["editable"] = editable
    return environment


def render_context(
    *,
    creditor: Creditor,
    customer_name: str,
    customer_id: str,
    level: str,
    language: str,
    statement: Statement,
    contact_name: str | None,
    medium: Medium = "email",
    notice_days: int = 8,
    broken: tuple[BrokenCommitment, ...] = (),
    customer_type: str = "business",
) -> dict[str, Any]:
    """What every template receives (docs/notifier.md, Templates). ``medium``: ``email``
    (salutation to the contact, the PDF attached, the signature) or ``letter`` (a letter's
    salutation and closing; the letterhead, date, subject and signatory are the letter's
    layout); ``deadline``: the day a formal notice gives, ``notice_days`` after the
    statement's day; ``broken``: the broken promises and missed instalments of the
    reminder's invoices, which it recalls; ``customer_type``: ``business``, ``public_body`` or
    ``consumer`` (a consumer is never cited the commercial late-payment texts)."""
    return {
        "creditor": creditor,
        "customer": {
            "name": customer_name,
            "id": customer_id,
            "contact_name": contact_name,
            "type": customer_type,
        },
        "level": level,
        "lang": language,
        "statement": statement,
        "medium": medium,
        "deadline": statement.as_of + timedelta(days=notice_days),
        "notice_days": notice_days,
        "broken": broken,
    }


class TemplateCatalogue:
    """The template sets of one folder, checked at load time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._environment = _environment(directory)
        self._sets: dict[tuple[str, str], tuple[jinja2.Template, ...]] = {}
        self._editable: dict[tuple[str, str], frozenset[str]] = {}
        self.by_level: frozenset[str] = frozenset()

    @classmethod
    def load(cls, directory: Path, sample: Mapping[str, Any]) -> TemplateCatalogue:
        """Compile every set and render it against ``sample``; raise on the first error."""
        catalogue = cls(directory)
        parsed: editable_marks.Parsed = {}  # the sets' layouts and partials, parsed once
        if not directory.is_dir():
            raise TemplateConfigurationError(f"template folder {directory} does not exist")
        for name_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
            if name_dir.name.startswith("_"):
                continue
            for language_dir in sorted(p for p in name_dir.iterdir() if p.is_dir()):
                key = (name_dir.name, language_dir.name)
                catalogue._sets[key] = catalogue._compile(*key)
                for medium in MEDIA:  # every set is also a letter's text
                    catalogue._render(key, catalogue._sets[key], {**sample, "medium": medium})
                catalogue._editable[key] = editable_marks.marked(
                    catalogue._environment, *key, parsed
                )
        if not catalogue._sets:
            raise TemplateConfigurationError(f"no template set in {directory}")
        editable_marks.consistent(catalogue._editable)
        catalogue.by_level = _names_by_level(directory / NAMES_FILE)
        return catalogue

    @property
    def sets(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self._sets))

    def _compile(self, name: str, language: str) -> tuple[jinja2.Template, ...]:
        templates = []
        for part in PARTS:
            path = f"{name}/{language}/{part}"
            try:
                templates.append(self._environment.get_template(path))
            except jinja2.TemplateNotFound as exc:
                raise TemplateConfigurationError(f"template {path} is missing") from exc
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateConfigurationError(
                    f"template {exc.filename or path} line {exc.lineno}: {exc.message}"
                ) from exc
        return tuple(templates)

    def _render(
        self,
        key: tuple[str, str],
        templates: tuple[jinja2.Template, ...],
        context: Mapping[str, Any],
    ) -> RenderedEmail:
        rendered = []
        for part, template in zip(PARTS, templates, strict=True):
            try:
                rendered.append(template.render(context))
            except jinja2.TemplateError as exc:
                raise TemplateConfigurationError(
                    f"template {key[0]}/{key[1]}/{part} does not render: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        subject = " ".join(rendered[0].split())
        if not subject:
            raise TemplateConfigurationError(f"template {key[0]}/{key[1]}: empty subject")
        return RenderedEmail(subject=subject, text=rendered[1], html=rendered[2])

    def resolve(
        self, names: tuple[str, ...], language: str, fallback_language: str
    ) -> tuple[str, str]:
        """The first set found among ``names`` in ``language``, then in the fallback language."""
        for wanted_language in (language, fallback_language):
            for name in names:
                if (name, wanted_language) in self._sets:
                    return name, wanted_language
        raise TemplateNotFound(
            f"no template among {list(names)} in {language} or {fallback_language}"
        )

    def editable(self, name: str) -> frozenset[str]:
        """The paragraphs the set ``name`` marks as editable (the same in every language)."""
        return next(
            (names for (set_name, _), names in sorted(self._editable.items()) if set_name == name),
            frozenset(),
        )

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(language for _, language in self._sets)

    def set_for(self, template: str, level: str) -> str | None:
        """The set that writes ``template``: its own, else its level's when ``names.yaml``
        declares it written by level; None for a name nobody declared."""
        if any(name == template for name, _ in self._sets):
            return template
        if template in self.by_level:
            return level
        return None

    def resolve_reminder(
        self, template: str, level: str, language: str, fallback_language: str
    ) -> tuple[str, str]:
        """The set of a reminder's template name in its language, else in the fallback
        language (a customer language with no templates); an undeclared name is refused."""
        name = self.set_for(template, level)
        if name is None:
            raise TemplateNotFound(
                f"template {template!r} has no set and is not declared in {NAMES_FILE}"
            )
        return self.resolve((name,), language, fallback_language)

    def missing(self, template: str, level: str, languages: Iterable[str]) -> list[str]:
        """Why ``template`` at ``level`` cannot be written in each of ``languages``."""
        name = self.set_for(template, level)
        if name is None:
            return [f"template {template!r} has no set and is not declared in {NAMES_FILE}"]
        return [
            f"template {template!r} (set {name}) has no {language} version"
            for language in languages
            if (name, language) not in self._sets
        ]

    def render(self, key: tuple[str, str], context: Mapping[str, Any]) -> RenderedEmail:
        return self._render(key, self._sets[key], context)

    def render_partial(self, path: str, context: Mapping[str, Any]) -> str:
        """Render one file of ``_partials`` (e.g. the portal's block); errors are configuration."""
        try:
            return self._environment.get_template(path).render(context)
        except jinja2.TemplateError as exc:
            raise TemplateConfigurationError(
                f"template {path} does not render: {type(exc).__name__}: {exc}"
            ) from exc
