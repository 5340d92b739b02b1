"""Flask-WTF forms of the coordinator's reference data: categories, regions, Jobcenters, accounts, hand-over."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, StopValidation, ValidationError

from .. import vocab
from ..accounts import password_problems, user_inputs
from ..geocoding import PLZ_RE
from .forms import (
    SLUG_RE,
    CoordinateField,
    GermanIntegerField,
    MultiCheckboxField,
    Select,
    long_text,
    strip_nul,
    text,
    to_int,
    vchoices,
)
from .labels import FIELD_LABELS as L


class SlugChecked:
    """Forms with a `slug` field: lower-case letters, digits and single hyphens."""

    def validate_slug(self, field: Field) -> None:
        if field.data and not SLUG_RE.match(field.data):
            raise ValidationError(_("Nur Kleinbuchstaben a–z, Ziffern und einzelne Bindestriche."))


class TermForm(SlugChecked, FlaskForm):
    """A category of the taxonomy."""

    name = text(L["name"], 200, required=True)
    name_en = text(L["name_en"], 200)
    slug = text(
        L["slug"],
        120,
        description=_l("Kleinbuchstaben, Ziffern und Bindestriche; bleibt stabil (Importe, API)."),
    )
    description = long_text(L["description"], max_length=4000)
    parent_id = Select(
        L["parent_id"], coerce=to_int, description=_l("Leer: Oberkategorie. Es gibt höchstens zwei Ebenen.")
    )
    review_interval_months = GermanIntegerField(
        L["review_interval_months"],
        validators=[
            Optional(),
            NumberRange(min=1, max=120, message=_l("Bitte zwischen %(min)s und %(max)s Monaten.")),
        ],
        description=_l(
            "Nach so vielen Monaten ist ein Angebot wieder zu prüfen, z. B. Psychotherapie 6, Sportverein 12. "
            "Leer: von der Oberkategorie übernehmen (sonst 12)."
        ),
    )
    internal_only = BooleanField(
        L["internal_only"], description=_l("Angebote dieser Kategorie sind nie öffentlich.")
    )
    sort_order = GermanIntegerField(
        L["sort_order"], default=0, validators=[Optional(), NumberRange(min=-10000, max=10000)]
    )


class RegionForm(SlugChecked, FlaskForm):
    """A Bundesland, Kreis or Gemeinde."""

    kind = Select(L["kind"], choices=vchoices(vocab.REGION_KINDS))
    name = text(L["name"], 200, required=True)
    slug = text(L["slug"], 120)
    ags = text(L["ags"], 12, description=_l("Amtlicher Gemeinde- oder Kreisschlüssel (Ziffern)."))
    parent_id = Select(
        L["parent_id"],
        coerce=to_int,
        description=_l("Gemeinde → Kreis, Kreis → Bundesland, Bundesland → leer."),
    )
    postal_codes = text(
        L["postal_codes"], 2000, description=_l("Durch Komma oder Leerzeichen getrennt, z. B. 58452, 58453")
    )
    latitude = CoordinateField(L["latitude"], validators=[Optional(), NumberRange(min=-90, max=90)])
    longitude = CoordinateField(L["longitude"], validators=[Optional(), NumberRange(min=-180, max=180)])

    def validate_ags(self, field: Field) -> None:
        if field.data and not field.data.strip().isdigit():
            raise ValidationError(_("Der Schlüssel besteht nur aus Ziffern."))

    def validate_postal_codes(self, field: Field) -> None:
        bad = [p for p in split_codes(field.data) if not PLZ_RE.match(p)]
        if bad:
            raise ValidationError(_("Keine gültigen Postleitzahlen: %(codes)s", codes=", ".join(bad[:5])))

    def validate_longitude(self, field: Field) -> None:
        if (field.data is None) != (self.latitude.data is None):
            raise ValidationError(_("Bitte beide Koordinaten angeben oder beide leer lassen."))


def split_codes(value: str | None) -> list[str]:
    """Split a list of postcodes typed with commas, semicolons or spaces."""
    return [p for p in re.split(r"[\s,;]+", value or "") if p]


class JobcenterForm(SlugChecked, FlaskForm):
    """A Jobcenter and the regions of its catchment."""

    name = text(L["name"], 200, required=True)
    short_name = text(L["short_name"], 60, description=_l("z. B. JC EN"))
    slug = text(L["slug"], 120)
    regions = MultiCheckboxField(
        _l("Regionen"), coerce=int, description=_l("Kreise oder Gemeinden des Bezirks.")
    )


class UserForm(FlaskForm):
    """A person who logs in."""

    email = StringField(
        L["email"],
        filters=[strip_nul, lambda v: v.strip().lower() if isinstance(v, str) else v],
        validators=[
            DataRequired(_l("Bitte füllen Sie dieses Feld aus.")),
            Length(max=254),
            Email(_l("Das ist keine gültige E-Mail-Adresse.")),
        ],
    )
    name = text(L["name"], 200)
    role = Select(
        L["role"],
        choices=vchoices(vocab.ROLES),
        description=_l(
            "Koordination darf alles ändern; Lots*innen/Mitarbeitende lesen interne Angaben, ändern aber nichts."
        ),
    )
    password = PasswordField(
        _l("Neues Passwort"),
        validators=[
            Optional(),
            Length(min=10, max=200, message=_l("Das Passwort braucht mindestens %(min)d Zeichen.")),
        ],
        description=_l(
            "Mindestens 10 Zeichen. Leer lassen: Passwort bleibt unverändert (bei neuen Konten: keine Anmeldung möglich)."
        ),
    )

    def validate_password(self, field: Field) -> None:
        """The shared password policy (atlas.accounts): no common, trivial or account-derived passwords."""
        if field.data:
            problems = password_problems(field.data, user_inputs(None, self.email.data or "", self.name.data or ""))
            if problems:
                raise ValidationError(problems[0])


class HandOverForm(FlaskForm):
    """Move everything one person is responsible for to another."""

    target_id = Select(_l("Übergeben an"), coerce=to_int)
    deactivate = BooleanField(_l("Konto danach deaktivieren"))

    def validate_target_id(self, field: Field) -> None:
        if not field.data:
            raise StopValidation(_("Bitte wählen Sie, wer übernimmt."))
