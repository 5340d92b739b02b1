"""Flask-WTF forms of the coordinator area, with German messages and help texts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import phonenumbers
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from .. import vocab
from ..db import get_session
from ..geocoding import PLZ_RE
from ..i18n import current_lang
from ..models import User
from ..params import parse_id
from ..safetext import UrlError, control_characters, normalise_url
from ..sessions import MAX_SERIES
from .labels import FIELD_LABELS as L
from .ownership import person_error

# Upper bound for long free texts: generous for real descriptions, refuses pasted novels and junk.
LONG_TEXT = 20000
MAX_ROWS = 50
MAX_SESSION_ROWS = 200  # a weekly group over two years
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NONE_CHOICE = 0


def strip_nul(value: Any) -> Any:
    """Drop NUL characters (PostgreSQL cannot store them); everything else stays as typed."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def text(
    label: Any, max_length: int, required: bool = False, description: Any = "", **kwargs: Any
) -> StringField:
    """A one-line text field with a length limit and a German message."""
    validators = [DataRequired(_l("Bitte füllen Sie dieses Feld aus."))] if required else [Optional()]
    validators += [Length(max=max_length, message=_l("Höchstens %(max)d Zeichen.")), no_control_characters]
    return StringField(label, validators=validators, filters=[strip_nul], description=description, **kwargs)


def no_control_characters(form: Form, field: Field) -> None:
    """Refuse invisible control and bidi-override characters in one-line fields (they reorder what follows)."""
    hidden = control_characters(field.data if isinstance(field.data, str) else "")
    if hidden:
        raise ValidationError(_("Das Feld enthält unsichtbare Steuerzeichen (%(codes)s). Bitte entfernen Sie sie.",
                                codes=", ".join(sorted(set(hidden)))))


def long_text(label: Any, description: Any = "", max_length: int = LONG_TEXT) -> TextAreaField:
    """A multi-line text field with a length limit."""
    return TextAreaField(
        label,
        validators=[Optional(), Length(max=max_length, message=_l("Höchstens %(max)d Zeichen."))],
        filters=[strip_nul],
        description=description,
    )


def format_phone(value: str) -> str:
    """Return a phone number formatted internationally (German numbers by default); raises ValueError."""
    try:
        parsed = phonenumbers.parse(value, "DE")
    except phonenumbers.NumberParseException:
        raise ValueError(_("Das ist keine gültige Telefonnummer.")) from None
    if phonenumbers.is_valid_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if parsed.country_code == 49 and phonenumbers.is_valid_short_number_for_region(parsed, "DE"):
        return str(parsed.national_number)
    raise ValueError(
        _("Das ist keine gültige Telefonnummer. Bitte mit Vorwahl eingeben, z. B. 02302 123456.")
    )


class WebAddress:
    """Validator: http/https only, normalised in place."""

    def __call__(self, form: Form, field: Field) -> None:
        if field.data:
            try:
                field.data = normalise_url(field.data)
            except UrlError as exc:
                raise ValidationError(str(exc)) from None


class PhoneNumber:
    """Validator: a phone number phonenumbers accepts, formatted INTERNATIONAL in place."""

    def __call__(self, form: Form, field: Field) -> None:
        if field.data:
            try:
                field.data = format_phone(field.data)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None


class PostalCode:
    """Validator: five digits."""

    def __call__(self, form: Form, field: Field) -> None:
        if field.data:
            field.data = field.data.strip()
            if not PLZ_RE.match(field.data):
                raise ValidationError(_("Eine Postleitzahl hat fünf Ziffern."))


def email_field(label: Any = L["email"], description: Any = "") -> StringField:
    """An optional e-mail address, trimmed and checked."""
    return StringField(
        label,
        filters=[strip_nul, lambda v: v.strip() if isinstance(v, str) else v],
        validators=[
            Optional(),
            Length(max=254, message=_l("Höchstens %(max)d Zeichen.")),
            Email(_l("Das ist keine gültige E-Mail-Adresse.")),
        ],
        description=description,
    )


def url_field(label: Any, description: Any = "") -> StringField:
    """An optional web address."""
    return StringField(
        label,
        filters=[strip_nul],
        validators=[Optional(), Length(max=2000, message=_l("Höchstens %(max)d Zeichen.")), WebAddress()],
        description=description or _l("Nur http:// oder https://; ohne Angabe wird https:// ergänzt."),
    )


class GermanDateField(StringField):
    """A date typed as YYYY-MM-DD (date picker) or TT.MM.JJJJ."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if isinstance(self.data, date) else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not raw:
            return
        for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
            try:
                self.data = datetime.strptime(raw, fmt).date()
                return
            except ValueError:
                continue
        raise ValueError(_("Bitte ein Datum im Format TT.MM.JJJJ eingeben."))


def date_field(label: Any, description: Any = "") -> GermanDateField:
    """An optional date."""
    return GermanDateField(label, validators=[Optional()], description=description)


class GermanIntegerField(IntegerField):
    """An integer with a German error message."""

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not raw:
            return
        try:
            self.data = int(raw)
        except ValueError:
            raise ValueError(_("Bitte eine ganze Zahl eingeben.")) from None


class CoordinateField(FloatField):
    """A decimal number that also accepts a German decimal comma."""

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = (valuelist[0] if valuelist else "").strip().replace(",", ".")
        self.data = None
        if not raw:
            return
        try:
            self.data = float(raw)
        except ValueError:
            raise ValueError(_("Bitte eine Dezimalzahl eingeben, z. B. 51,4371.")) from None


CHOICE_MESSAGE = _l("Bitte wählen Sie einen Eintrag aus der Liste.")


def opts(pairs: Any) -> list[SelectChoice]:
    """Select choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class Select(SelectField):
    """A select list with German messages for values that are not in the list."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("invalid_choice_message", CHOICE_MESSAGE)
        kwargs.setdefault("invalid_value_message", CHOICE_MESSAGE)
        super().__init__(*args, **kwargs)


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("invalid_choice_message", _l("Ungültige Auswahl."))
        kwargs.setdefault("invalid_value_message", _l("Ungültige Auswahl."))
        super().__init__(*args, **kwargs)


def vchoices(vocabulary: dict[str, tuple[str, str]], blank: bool = False, short: bool = False) -> Callable:
    """Choices from a vocabulary in the UI language, computed when the form is built."""

    def build() -> list[SelectChoice]:
        lang = current_lang()
        items = [(code, vocab.label(vocabulary, code, lang)[: 2 if short else None]) for code in vocabulary]
        return opts(([("", "—")] if blank else []) + items)

    return build


def to_int(value: Any) -> int:
    """Coerce a select value to int; empty means NONE_CHOICE."""
    if value in (None, "", "None"):
        return NONE_CHOICE
    return int(value)


class RowForm(Form):
    """A repeatable row (phone, opening hours, contact); an all-blank row is ignored."""

    id = HiddenField()
    remove = BooleanField(_l("entfernen"))
    KEY_FIELDS: tuple[str, ...] = ()

    def is_blank(self) -> bool:
        """True when the user left every visible field empty."""
        for name in self.KEY_FIELDS:
            value = self[name].raw_data[0] if self[name].raw_data else self[name].data
            if value not in (None, "", []) and not (isinstance(value, str) and not value.strip()):
                return False
        return True

    def row_id(self) -> int | None:
        """The id of the existing row this form edits, None for a new one."""
        return parse_id(self.id.data)

    def validate(self, extra_validators: Any = None) -> bool:
        if self.remove.data or (self.is_blank() and self.row_id() is None):
            return True
        return super().validate(extra_validators)


class PhoneRow(RowForm):
    """One phone number."""

    KEY_FIELDS = ("number", "extension", "description")
    number = StringField(
        L["number"],
        filters=[strip_nul],
        validators=[
            DataRequired(_l("Bitte die Nummer eingeben (oder die Zeile leeren).")),
            Length(max=50),
            PhoneNumber(),
        ],
    )
    extension = text(L["extension"], 20)
    type = Select(L["type"], choices=vchoices(vocab.PHONE_TYPES), default="voice")
    description = text(_l("Beschreibung"), 300, description=_l("z. B. Zentrale, Beratungstelefon"))
    visibility = Select(L["visibility"], choices=vchoices(vocab.VISIBILITY), default="public")


class ScheduleRow(RowForm):
    """Opening hours on some weekdays."""

    KEY_FIELDS = ("byday", "opens_at", "closes_at", "description")
    byday = MultiCheckboxField(L["byday"], choices=vchoices(vocab.WEEKDAYS, short=True))
    opens_at = StringField(L["opens_at"], filters=[strip_nul], validators=[Optional()])
    closes_at = StringField(L["closes_at"], filters=[strip_nul], validators=[Optional()])
    freq = Select(
        L["freq"],
        choices=lambda: opts([("WEEKLY", _("wöchentlich")), ("MONTHLY", _("monatlich"))]),
        default="WEEKLY",
    )
    valid_from = date_field(L["valid_from"])
    valid_to = date_field(L["valid_to"])
    description = text(_l("Bemerkung"), 300)

    def validate_byday(self, field: Field) -> None:
        if not field.data:
            raise ValidationError(_("Bitte mindestens einen Wochentag ankreuzen."))

    def validate_opens_at(self, field: Field) -> None:
        _check_time(field)

    def validate_closes_at(self, field: Field) -> None:
        _check_time(field)
        if (
            field.data
            and self.opens_at.data
            and TIME_RE.match(self.opens_at.data)
            and field.data <= self.opens_at.data
        ):
            raise ValidationError(_("Das Ende muss nach dem Beginn liegen."))

    def validate_valid_to(self, field: Field) -> None:
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError(_("„Gültig bis“ darf nicht vor „Gültig ab“ liegen."))


def _check_time(field: Field) -> None:
    if field.data:
        field.data = field.data.strip()
        if re.match(r"^\d:\d\d$", field.data):
            field.data = "0" + field.data
        if not TIME_RE.match(field.data):
            raise ValidationError(_("Bitte eine Uhrzeit wie 09:00 eingeben."))


class SessionRow(RowForm):
    """One dated session of a course, group or event; a new row can repeat weekly."""

    KEY_FIELDS = ("starts_on", "start_time", "end_time", "place", "registration_note", "repeat_until")
    starts_on = GermanDateField(_l("Datum"), validators=[
        DataRequired(_l("Bitte das Datum des Termins eingeben (oder die Zeile leeren)."))])
    start_time = StringField(_l("Beginn"), filters=[strip_nul], validators=[Optional()],
                             description=_l("z. B. 18:00"))
    end_time = StringField(_l("Ende"), filters=[strip_nul], validators=[Optional()])
    place = text(_l("Ort, wenn abweichend"), 300, description=_l("z. B. Turnhalle, Raum 2 oder „online“"))
    seats = Select(_l("Plätze"), choices=vchoices(vocab.SESSION_SEATS), default="unbekannt")
    registration_note = text(_l("Anmeldung"), 500, description=_l("z. B. Anmeldung bis 10.01. unter 02331 …"))
    repeat_until = date_field(_l("wöchentlich wiederholen bis"),
                              _l("Nur beim Anlegen: legt jede Woche am selben Wochentag einen Termin an."))

    def validate_start_time(self, field: Field) -> None:
        _check_time(field)

    def validate_end_time(self, field: Field) -> None:
        _check_time(field)
        if field.data and not self.start_time.data:
            raise ValidationError(_("Bitte auch den Beginn eingeben."))
        if field.data and TIME_RE.match(self.start_time.data or "") and field.data <= self.start_time.data:
            raise ValidationError(_("Der Termin muss nach seinem Beginn enden."))

    def validate_repeat_until(self, field: Field) -> None:
        if not field.data or not self.starts_on.data:
            return
        if field.data < self.starts_on.data:
            raise ValidationError(_("„Wiederholen bis“ darf nicht vor dem Datum liegen."))
        if (field.data - self.starts_on.data).days // 7 + 1 > MAX_SERIES:
            raise ValidationError(_("Höchstens %(n)s Termine auf einmal – bitte ein früheres Ende wählen.",
                                    n=MAX_SERIES))


class ContactRow(RowForm):
    """A named contact person (always internal)."""

    KEY_FIELDS = ("name", "title", "department", "email", "phone")
    name = text(L["name"], 200)
    title = text(L["title"], 200)
    department = text(L["department"], 200)
    email = email_field()
    phone = StringField(
        L["phone"], filters=[strip_nul], validators=[Optional(), Length(max=50), PhoneNumber()]
    )

    def validate_name(self, field: Field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_("Bitte einen Namen eingeben (oder die Zeile leeren)."))


class EntryForm(FlaskForm):
    """Fields every organisation and offer has: visibility, ownership, verification, source, versioning."""

    version_id = HiddenField()
    audit_mark = HiddenField()
    visibility = Select(
        L["visibility"],
        choices=vchoices(vocab.VISIBILITY),
        description=_l("„intern“: nur angemeldete Fachkräfte sehen den Eintrag."),
    )
    internal_note = long_text(L["internal_note"], _l("Nur für angemeldete Fachkräfte sichtbar."))
    # Any id is accepted here and then checked by person, with a message that says who cannot and why.
    owner_id = Select(
        L["owner_id"],
        coerce=to_int,
        validate_choice=False,
        description=_l(
            "Diese Person hält den Eintrag aktuell; seine Prüfaufgaben landen in ihrer Prüfliste."
        ),
    )
    deputy_id = Select(
        L["deputy_id"],
        coerce=to_int,
        validate_choice=False,
        description=_l("Springt ein, wenn die verantwortliche Person fehlt. Nur Koordinator*innen."),
    )
    assured_date = date_field(
        L["assured_date"],
        _l(
            "Datum der letzten inhaltlichen Prüfung. „Angaben prüfen“ setzt heute und Ihren Namen."
        ),
    )
    source_name = text(
        L["source_name"], 120, description=_l("z. B. Name der Übersicht, aus der der Eintrag stammt.")
    )
    source_id = text(L["source_id"], 200)
    source_url = url_field(L["source_url"])
    source_licence = text(L["source_licence"], 200)

    # The entry's stored (owner_id, deputy_id): keeping a person who meanwhile left is not "assigning" them.
    current_people: tuple[int | None, int | None] = (None, None)

    def validate_owner_id(self, field: Field) -> None:
        _check_person(field, self.current_people[0], deputy=False)

    def validate_deputy_id(self, field: Field) -> None:
        if field.data and field.data == self.owner_id.data:
            raise ValidationError(_("Vertretung und verantwortliche Person müssen verschieden sein."))
        _check_person(field, self.current_people[1], deputy=True)


def _check_person(field: Field, current: int | None, deputy: bool) -> None:
    if field.data and field.data != current:
        message = person_error(get_session().get(User, field.data), deputy=deputy)
        if message:
            raise ValidationError(message)


class OrganizationForm(EntryForm):
    """An organisation (Träger) with its phones and contact persons."""

    name = text(
        L["name"], 300, required=True, description=_l("Offizieller Name, z. B. „Caritasverband Witten e. V.“")
    )
    alternate_name = text(L["alternate_name"], 300)
    description = long_text(L["description"])
    email = email_field()
    website = url_field(L["website"])
    legal_status = text(
        L["legal_status"], 120, description=_l("z. B. e. V., gGmbH, Körperschaft des öffentlichen Rechts")
    )
    sector = text(L["sector"], 120, description=_l("z. B. freie Wohlfahrtspflege, Gesundheitswesen, Kommune"))
    is_employer = BooleanField(
        L["is_employer"], description=_l("Arbeitgebereinträge sind immer nur intern sichtbar.")
    )
    phones = FieldList(FormField(PhoneRow), _l("Telefonnummern"), max_entries=MAX_ROWS)
    contacts = FieldList(FormField(ContactRow), _l("Ansprechpersonen"), max_entries=MAX_ROWS)

    def validate_is_employer(self, field: Field) -> None:
        if field.data and self.visibility.data != "internal":
            raise ValidationError(_("Arbeitgeber müssen „intern“ sichtbar sein."))


class ServiceForm(EntryForm):
    """An offer with every field of the model."""

    organization_id = Select(
        L["organization_id"], coerce=to_int, description=_l("Wer bietet das Angebot an?")
    )
    name = text(L["name"], 300, required=True, description=_l("So, wie Teilnehmende das Angebot kennen."))
    alternate_name = text(
        L["alternate_name"], 300, description=_l("z. B. Abkürzung oder früherer Name; wird mitgesucht.")
    )
    summary_plain = long_text(
        L["summary_plain"],
        _l("Zwei, drei kurze Sätze in einfacher Sprache für Teilnehmende."),
        max_length=2000,
    )
    description = long_text(L["description"])
    url = url_field(L["url"])
    email = email_field()
    status = Select(
        L["status"],
        choices=vchoices(vocab.STATUS),
        description=_l(
            "„beendet“ nimmt das Angebot von der öffentlichen Karte; „pausiert“ und „unklar“ zeigen einen Hinweis."
        ),
    )
    valid_from = date_field(L["valid_from"], _l("z. B. Projektbeginn"))
    valid_to = date_field(L["valid_to"], _l("z. B. Ende der Förderung"))
    alert = long_text(
        L["alert"],
        _l("Erscheint als gelber Hinweis über dem Angebot, z. B. „Aufnahmestopp bis März“."),
        max_length=1000,
    )
    categories = MultiCheckboxField(
        L["categories"],
        coerce=int,
        description=_l("Mindestens eine Kategorie; das kürzeste Prüfintervall der Kategorien gilt."),
    )
    jobcenters = MultiCheckboxField(
        L["jobcenters"], coerce=int, description=_l("Für welche Jobcenter-Bezirke?")
    )
    supra_regional = BooleanField(
        L["supra_regional"], description=_l("Online, Hotline oder weit entfernt: für alle.")
    )
    locations = MultiCheckboxField(
        _l("Standorte"),
        coerce=int,
        description=_l(
            "Standorte der Organisation, an denen das Angebot stattfindet. Neue Standorte legen Sie bei der Organisation an."
        ),
    )
    fees_description = long_text(
        L["fees_description"], _l("z. B. „10 € Eigenanteil, Zuschuss der Krankenkasse möglich“"), max_length=2000
    )
    target_group = long_text(L["target_group"], _l("Für wen ist das Angebot gedacht?"), max_length=2000)
    eligibility_description = long_text(L["eligibility_description"], max_length=4000)
    minimum_age = GermanIntegerField(
        L["minimum_age"],
        validators=[
            Optional(),
            NumberRange(min=0, max=130, message=_l("Bitte ein Alter zwischen %(min)s und %(max)s.")),
        ],
    )
    maximum_age = GermanIntegerField(
        L["maximum_age"],
        validators=[
            Optional(),
            NumberRange(min=0, max=130, message=_l("Bitte ein Alter zwischen %(min)s und %(max)s.")),
        ],
    )
    application_process = long_text(
        L["application_process"], _l("Erste Schritte: anrufen, Termin, Antrag …"), max_length=4000
    )
    waiting_time = text(L["waiting_time"], 300, description=_l("z. B. „etwa 6 Wochen“"))
    waiting_time_confirmed_at = date_field(
        L["waiting_time_confirmed_at"], _l("Wann zuletzt erfragt? „… ist aktuell“ speichert und setzt heute.")
    )
    intake_status = Select(
        L["intake_status"],
        choices=vchoices(vocab.INTAKE_STATUS),
        description=_l("Nimmt das Angebot gerade neue Menschen auf?"),
    )
    intake_status_confirmed_at = date_field(
        L["intake_status_confirmed_at"], _l("Wann zuletzt erfragt? „… ist aktuell“ speichert und setzt heute.")
    )
    opening_hours_confirmed_at = date_field(
        L["opening_hours_confirmed_at"], _l("Wann zuletzt geprüft, ob die Zeiten stimmen?")
    )
    # Saving a changed fact confirms it today; these boxes leave the date as it is (changed, not yet confirmed).
    waiting_time_unconfirmed = BooleanField(_l("noch nicht bestätigt (nur geändert)"))
    intake_status_unconfirmed = BooleanField(_l("noch nicht bestätigt (nur geändert)"))
    opening_hours_unconfirmed = BooleanField(_l("noch nicht bestätigt (nur geändert)"))
    delivery_format = Select(
        L["delivery_format"],
        choices=vchoices(vocab.DELIVERY_FORMAT, blank=True),
        description=_l("Einzeln, in der Gruppe oder beides?"),
    )
    setting = Select(
        L["setting"], choices=vchoices(vocab.SETTING, blank=True), description=_l("Ambulant oder stationär?")
    )
    short_notice = BooleanField(L["short_notice"], description=_l("Termine meist innerhalb weniger Tage."))
    phones = FieldList(FormField(PhoneRow), _l("Telefonnummern"), max_entries=MAX_ROWS)
    schedules = FieldList(FormField(ScheduleRow), _l("Zeiten"), max_entries=MAX_ROWS)
    sessions = FieldList(FormField(SessionRow), _l("Termine"), max_entries=MAX_SESSION_ROWS)
    contacts = FieldList(FormField(ContactRow), _l("Ansprechpersonen"), max_entries=MAX_ROWS)

    def validate_categories(self, field: Field) -> None:
        if not field.data:
            raise ValidationError(_("Bitte mindestens eine Kategorie ankreuzen."))

    def validate_organization_id(self, field: Field) -> None:
        if not field.data:
            raise ValidationError(_("Bitte eine Organisation wählen."))

    def validate_maximum_age(self, field: Field) -> None:
        if (
            field.data is not None
            and self.minimum_age.data is not None
            and field.data < self.minimum_age.data
        ):
            raise ValidationError(_("Das Höchstalter liegt unter dem Mindestalter."))

    def validate_valid_to(self, field: Field) -> None:
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError(_("„Gültig bis“ darf nicht vor „Gültig ab“ liegen."))


LIST_HELP = {
    "cost_options": _l("Was kostet es Teilnehmende? Mehrere möglich."),
    "access_routes": _l("Wie kommt man hinein? Mehrere möglich."),
    "contact_channels": _l("Wie findet die Beratung statt?"),
    "languages": _l("In welchen Sprachen ist Beratung möglich?"),
    "accessibility": _l("Was ist vor Ort barrierefrei?"),
    "legal_domains": _l("Nach welchem Gesetz wird geleistet (für Fachkräfte)?"),
}
for _name, _vocabulary in vocab.LIST_FIELDS.items():
    setattr(
        ServiceForm,
        _name,
        MultiCheckboxField(L[_name], choices=vchoices(_vocabulary), description=LIST_HELP.get(_name, "")),
    )


class LocationForm(FlaskForm):
    """A site of an organisation with its address, pin, phones and opening hours."""

    audit_mark = HiddenField()
    location_type = Select(
        L["location_type"],
        choices=vchoices(vocab.LOCATION_TYPES),
        description=_l("„online“ braucht keine Adresse."),
    )
    name = text(L["name"], 300, description=_l("z. B. „Haus am Markt“ oder „Beratungsstelle Nord“"))
    description = long_text(L["description"], max_length=4000)
    address_1 = text(L["address_1"], 300)
    address_2 = text(L["address_2"], 300, description=_l("z. B. 2. Etage, Hinterhaus"))
    postal_code = StringField(L["postal_code"], filters=[strip_nul], validators=[Optional(), PostalCode()])
    city = text(L["city"], 200)
    gemeinde_id = Select(
        L["gemeinde_id"], coerce=to_int, description=_l("Leer lassen: wird aus PLZ und Ort bestimmt.")
    )
    address_precision = Select(
        L["address_precision"],
        choices=vchoices(vocab.ADDRESS_PRECISION),
        description=_l("Geschützte Orte (z. B. Frauenhaus): nur die Gemeinde veröffentlichen."),
    )
    latitude = CoordinateField(
        L["latitude"],
        validators=[
            Optional(),
            NumberRange(min=-90, max=90, message=_l("Der Breitengrad liegt zwischen -90 und 90.")),
        ],
        description=_l(
            "Leer lassen oder unverändert lassen: wird aus der Adresse bestimmt. Von Hand geändert: gilt als „von Hand gesetzt“."
        ),
    )
    longitude = CoordinateField(
        L["longitude"],
        validators=[
            Optional(),
            NumberRange(min=-180, max=180, message=_l("Der Längengrad liegt zwischen -180 und 180.")),
        ],
    )
    transportation = long_text(
        L["transportation"], _l("z. B. „Bus 371 bis Rathaus, 3 Minuten Fußweg“"), max_length=2000
    )
    accessibility_description = long_text(L["accessibility_description"], max_length=2000)
    url = url_field(L["url"])
    visibility = Select(L["visibility"], choices=vchoices(vocab.VISIBILITY))
    source_name = text(L["source_name"], 120)
    source_id = text(L["source_id"], 200)
    source_url = url_field(L["source_url"])
    source_licence = text(L["source_licence"], 200)
    phones = FieldList(FormField(PhoneRow), _l("Telefonnummern"), max_entries=MAX_ROWS)
    schedules = FieldList(FormField(ScheduleRow), _l("Zeiten"), max_entries=MAX_ROWS)

    def validate_city(self, field: Field) -> None:
        if self.location_type.data != "virtual" and not (field.data or "").strip():
            raise ValidationError(_("Bitte den Ort angeben (bei Online-Angeboten „online“ wählen)."))

    def validate_longitude(self, field: Field) -> None:
        if (field.data is None) != (self.latitude.data is None) and not self.latitude.errors:
            raise ValidationError(_("Bitte beide Koordinaten angeben oder beide leer lassen."))


class NoteForm(FlaskForm):
    """A short note, e.g. when resolving a task."""

    note = long_text(_l("Notiz"), max_length=2000)


class VersionForm(FlaskForm):
    """A button that acts on an entry at a known version."""

    version_id = HiddenField()


class MergeForm(FlaskForm):
    """Confirm a merge of a duplicate into the kept entry."""

    version_id = HiddenField()
    duplicate_version_id = HiddenField()
