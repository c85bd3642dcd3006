"""One form per section of the application. Each validates its own section completely, so a
section is either saved whole or not at all, and the applicant sees every problem at once."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from applications.checklist import Step
from applications.models import Activity, ApplicantPath, Application, Degree
from policy.selectors import active_institutions, active_stem_fields

PASSPORT_NUMBER = re.compile(r"^[A-Z0-9]{5,20}$")
YES_NO = [(True, _("Yes")), (False, _("No"))]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def yes_no_field(label: Any, *, required: bool = True) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO,
        widget=forms.RadioSelect,
        required=required,
        coerce=lambda v: v in (True, "True", "true", "1"),
    )


def _today() -> date:
    return timezone.localdate()


class SectionForm(forms.ModelForm):
    """Base: every listed field is required unless named in `optional`."""

    optional: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.required = name not in self.optional and not isinstance(field, forms.BooleanField)
            if isinstance(field.widget, forms.DateInput):
                field.widget = DateInput()


class PathForm(SectionForm):
    path = forms.ChoiceField(
        label=_("Which route describes you?"),
        choices=ApplicantPath.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "Graduates need a STEM degree (bachelor's or higher) from a recognised institution; "
            "teachers and researchers need a current STEM post at one."
        ),
    )

    class Meta:
        model = Application
        fields = ["path"]


class PersonalForm(SectionForm):
    optional = ("native_name",)

    class Meta:
        model = Application
        fields = [
            "family_name",
            "given_names",
            "native_name",
            "sex",
            "date_of_birth",
            "place_of_birth",
            "nationality",
        ]
        widgets = {"sex": forms.RadioSelect}

    def clean_date_of_birth(self) -> date:
        born = self.cleaned_data["date_of_birth"]
        today = _today()
        if born >= today:
            raise forms.ValidationError(_("The date of birth must be in the past."), code="future")
        if born.year < today.year - 100:
            raise forms.ValidationError(
                _("Check the year of birth: it is more than 100 years ago."), code="too_old"
            )
        if (today - born).days < 16 * 365:
            raise forms.ValidationError(
                _("Applicants must be at least 16 years old."), code="too_young"
            )
        return born


class PassportForm(SectionForm):
    class Meta:
        model = Application
        fields = [
            "passport_number",
            "passport_issuing_country",
            "passport_issue_date",
            "passport_expiry_date",
        ]
        widgets = {
            "passport_number": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"})
        }

    def clean_passport_number(self) -> str:
        number = re.sub(r"[\s-]", "", self.cleaned_data["passport_number"]).upper()
        if not PASSPORT_NUMBER.match(number):
            raise forms.ValidationError(
                _("Enter the passport number as printed: 5 to 20 letters and digits."),
                code="format",
            )
        return number

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        issued, expires = data.get("passport_issue_date"), data.get("passport_expiry_date")
        if issued and issued > _today():
            self.add_error("passport_issue_date", _("The date of issue cannot be in the future."))
        if self.instance.date_of_birth and issued and issued < self.instance.date_of_birth:
            self.add_error(
                "passport_issue_date", _("The date of issue is before your date of birth.")
            )
        if issued and expires and expires <= issued:
            self.add_error(
                "passport_expiry_date", _("The expiry date must be after the date of issue.")
            )
        elif expires and expires <= _today():
            self.add_error(
                "passport_expiry_date", _("This passport has expired. Apply with a valid passport.")
            )
        stay_end = self.instance.planned_stay_end
        if expires and stay_end and expires < stay_end:
            self.add_error(
                "passport_expiry_date",
                _("Your passport expires before your planned stay ends (%(end)s).")
                % {"end": stay_end.isoformat()},
            )
        return data


class ContactForm(SectionForm):
    phone = PhoneNumberField(
        label=_("Phone number"),
        help_text=_("In international format, e.g. +44 20 7946 0958."),
        region=None,
    )
    optional = ("postal_code",)

    class Meta:
        model = Application
        fields = [
            "contact_email",
            "phone",
            "address_line",
            "city",
            "postal_code",
            "country_of_residence",
        ]


class DegreeForm(forms.ModelForm):
    class Meta:
        model = Degree
        fields = [
            "level",
            "field",
            "institution",
            "institution_other",
            "country",
            "started_on",
            "awarded_on",
            "documents_in_zh_or_en",
        ]
        widgets = {"started_on": DateInput(), "awarded_on": DateInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].queryset = active_stem_fields()  # type: ignore[attr-defined]
        self.fields["institution"].queryset = active_institutions()  # type: ignore[attr-defined]
        self.fields["institution"].required = False
        self.fields["institution"].help_text = _(
            "Choose from the recognised institutions, or type the name below."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        started, awarded = data.get("started_on"), data.get("awarded_on")
        if started and awarded and awarded < started:
            self.add_error("awarded_on", _("The award date must be after the start date."))
        if awarded and awarded > _today():
            self.add_error("awarded_on", _("Only degrees already awarded count."))
        if not data.get("institution") and not (data.get("institution_other") or "").strip():
            self.add_error("institution", _("Choose your institution or type its name."))
        if data.get("institution") and (data.get("institution_other") or "").strip():
            self.add_error(
                "institution_other", _("Choose an institution from the list or type one, not both.")
            )
        return data


class CareerForm(SectionForm):
    post_is_stem_teaching_research = yes_no_field(
        _("Is your current post STEM teaching or research?"), required=False
    )
    optional = (
        "employer_name",
        "employer_institution",
        "job_title",
        "post_is_stem_teaching_research",
        "post_field",
        "post_since",
        "research_summary",
        "publications_count",
        "patents_count",
    )

    class Meta:
        model = Application
        fields = [
            "employer_name",
            "employer_institution",
            "job_title",
            "post_is_stem_teaching_research",
            "post_field",
            "post_since",
            "years_experience",
            "publications_count",
            "patents_count",
            "research_summary",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["post_field"].queryset = active_stem_fields()  # type: ignore[attr-defined]
        self.fields["employer_institution"].queryset = active_institutions()  # type: ignore[attr-defined]
        self.fields["years_experience"].widget.attrs.update(min=0, max=60)
        if self.instance.path == ApplicantPath.RESEARCHER:
            for name in (
                "employer_name",
                "job_title",
                "post_is_stem_teaching_research",
                "post_field",
                "post_since",
            ):
                self.fields[name].required = True

    def clean_years_experience(self) -> int:
        years = self.cleaned_data["years_experience"]
        if years > 60:
            raise forms.ValidationError(
                _("Enter a number of years between 0 and 60."), code="range"
            )
        return years

    def clean_post_since(self) -> date | None:
        since = self.cleaned_data.get("post_since")
        if since and since > _today():
            raise forms.ValidationError(
                _("The start of your post cannot be in the future."), code="future"
            )
        return since


class LanguageForm(SectionForm):
    hsk_level = forms.TypedChoiceField(
        label=_("HSK level"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("No HSK certificate"))]
        + [(n, _("HSK %(level)d") % {"level": n}) for n in range(1, 10)],
    )
    optional = ("hsk_level",)

    class Meta:
        model = Application
        fields = ["hsk_level", "degree_taught_in_chinese"]


class TravelForm(SectionForm):
    intended_activities = forms.MultipleChoiceField(
        label=_("What will you do in China?"),
        choices=Activity.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    previous_visits = yes_no_field(_("Have you visited China before?"))
    previous_refusals = yes_no_field(
        _("Have you ever been refused a visa for China or another country?")
    )
    optional = ("previous_visits_details", "previous_refusals_details")

    class Meta:
        model = Application
        fields = [
            "intended_activities",
            "planned_entry_date",
            "planned_stay_days",
            "previous_visits",
            "previous_visits_details",
            "previous_refusals",
            "previous_refusals_details",
        ]

    def __init__(self, *args: Any, max_stay_days: int = 180, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_stay_days = max_stay_days
        self.fields["planned_stay_days"].widget.attrs.update(min=1, max=max_stay_days)
        self.fields["planned_stay_days"].help_text = _("At most %(days)d days per stay.") % {
            "days": max_stay_days
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        entry, days = data.get("planned_entry_date"), data.get("planned_stay_days")
        if entry and entry <= _today():
            self.add_error(
                "planned_entry_date", _("The planned date of entry must be in the future.")
            )
        if days is not None and not 1 <= days <= self.max_stay_days:
            self.add_error(
                "planned_stay_days",
                _("A stay can last between 1 and %(days)d days.") % {"days": self.max_stay_days},
            )
        expiry = self.instance.passport_expiry_date
        if entry and days and expiry and expiry < entry + timedelta(days=days):
            self.add_error(
                "planned_stay_days",
                _("Your passport expires on %(expiry)s, before this stay would end.")
                % {"expiry": expiry.isoformat()},
            )
        for flag, details in (
            ("previous_visits", "previous_visits_details"),
            ("previous_refusals", "previous_refusals_details"),
        ):
            if data.get(flag) and not (data.get(details) or "").strip():
                self.add_error(details, _("Please give the details."))
        return data


class UploadForm(forms.Form):
    kind = forms.CharField(widget=forms.HiddenInput)
    degree = forms.IntegerField(widget=forms.HiddenInput, required=False)
    file = forms.FileField(label=_("File (PDF, JPEG or PNG)"))


class SubmitForm(forms.Form):
    declare_true = forms.BooleanField(
        label=_("I declare that the information I have given is true and complete."), required=True
    )
    declare_documents = forms.BooleanField(
        label=_("I declare that the documents I uploaded are genuine and unaltered."), required=True
    )
    declare_consent = forms.BooleanField(
        label=_(
            "I agree that the visa authority may verify my information with the institutions "
            "I named."
        ),
        required=True,
    )
    signature_name = forms.CharField(
        label=_("Type your full name as your signature"),
        max_length=250,
        help_text=_("Given names and family name, as in your passport."),
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    confirm = forms.BooleanField(
        label=_("Yes, withdraw this application. This cannot be undone."), required=True
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is cleaned like a single FileField."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        items = data if isinstance(data, list | tuple) else [data] if data else []
        if not items and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class EvidenceAnswerForm(forms.Form):
    text = forms.CharField(
        label=_("Your answer"), widget=forms.Textarea(attrs={"rows": 6}), max_length=10000
    )
    attachments = MultipleFileField(label=_("Files (PDF, JPEG or PNG)"), required=False)


class ReviewRequestForm(forms.Form):
    text = forms.CharField(
        label=_("Which part of the decision is wrong, and why"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=5000,
    )


class StatusLookupForm(forms.Form):
    reference = forms.CharField(
        label=_("Reference number"), max_length=30, help_text=_("For example KV-2026-0001234-6.")
    )
    passport_number = forms.CharField(label=_("Passport number"), max_length=30)


STEP_FORMS: dict[Step, type[forms.ModelForm]] = {
    Step.PATH: PathForm,
    Step.PERSONAL: PersonalForm,
    Step.PASSPORT: PassportForm,
    Step.CONTACT: ContactForm,
    Step.CAREER: CareerForm,
    Step.LANGUAGE: LanguageForm,
    Step.TRAVEL: TravelForm,
}
