"""Forms of the officer workspace. They parse what the officer typed; the rules (due-date range,
visa terms within the policy, reasons in use, who may act) stay in reviews.services, whose
per-field errors the views put back on these forms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from applications.forms import DateInput
from applications.reference import InvalidReference, normalise_reference
from reviews.models import ENTRIES_RANK, Decision, Entries, RefusalReason
from reviews.services import NOTE_MAX_LENGTH, VisaTerms


def apply_errors(form: forms.Form, errors: Mapping[str, Iterable[str]], message: str) -> None:
    """Put a service's per-field errors on the form; what matches no field (or carries no
    text) goes to the form as a whole, so the officer always reads why nothing was saved."""
    placed = False
    for name, texts in errors.items():
        texts = [str(t) for t in texts if str(t) and str(t) != "required"]
        if name in form.fields:
            form.add_error(name, texts or [str(_("This field is required."))])
            placed = True
        elif texts:
            form.add_error(None, texts)
            placed = True
    if not placed:
        form.add_error(None, message)


class VersionedForm(forms.Form):
    """A form acting on the case as the officer saw it: a stale page is refused."""

    version = forms.CharField(widget=forms.HiddenInput, max_length=64)


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Internal note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTE_MAX_LENGTH,
        help_text=_("Only officers see notes; the applicant never does."),
    )


class ReleaseForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=500)


class EvidenceRequestForm(VersionedForm):
    # Not required here: the service explains what is missing in its own words.
    items = forms.CharField(
        label=_("Items the applicant must provide"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    message = forms.CharField(
        label=_("Message to the applicant"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=5000,
        help_text=_("Explain what is missing and why. The applicant reads this in the email."),
    )
    due_on = forms.DateField(label=_("Answer by"), widget=DateInput())

    def __init__(self, *args: Any, today: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = today or timezone.localdate()
        self.fields["items"].help_text = _("One item per line, at most %(max)s.") % {
            "max": settings.EVIDENCE_MAX_ITEMS
        }
        field = self.fields["due_on"]
        field.initial = today + timedelta(days=settings.EVIDENCE_DEFAULT_DAYS)
        earliest = today + timedelta(days=settings.EVIDENCE_MIN_DAYS)
        latest = today + timedelta(days=settings.EVIDENCE_MAX_DAYS)
        field.widget.attrs.update(min=earliest.isoformat(), max=latest.isoformat())
        field.help_text = _("Between %(earliest)s and %(latest)s.") % {
            "earliest": earliest.isoformat(),
            "latest": latest.isoformat(),
        }

    def item_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["items"].splitlines() if line.strip()]


class ApproveForm(VersionedForm):
    outcome = forms.CharField(widget=forms.HiddenInput, initial=Decision.Outcome.APPROVE)
    valid_from = forms.DateField(label=_("Valid from"), widget=DateInput())
    valid_until = forms.DateField(label=_("Valid until"), widget=DateInput())
    entries = forms.ChoiceField(label=_("Entries"), choices=Entries.choices)
    max_stay_days = forms.IntegerField(label=_("Days per stay"), min_value=1, max_value=32767)
    statement = forms.CharField(
        label=_("Explanation (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
    )

    def __init__(self, *args: Any, allowed: VisaTerms, **kwargs: Any) -> None:
        """`allowed`: the most the policy grants, proposed as the starting point."""
        super().__init__(*args, **kwargs)
        self.fields["valid_from"].initial = allowed.valid_from
        self.fields["valid_from"].widget.attrs["min"] = allowed.valid_from.isoformat()
        self.fields["valid_until"].initial = allowed.valid_until
        self.fields["valid_until"].widget.attrs["max"] = allowed.valid_until.isoformat()
        rank = ENTRIES_RANK.get(Entries(allowed.entries), 1) if allowed.entries in Entries else 1
        entries = self.fields["entries"]
        assert isinstance(entries, forms.ChoiceField)
        entries.choices = [
            (v, label) for v, label in Entries.choices if ENTRIES_RANK[Entries(v)] <= rank
        ]
        entries.initial = allowed.entries
        self.fields["max_stay_days"].initial = allowed.max_stay_days
        self.fields["max_stay_days"].widget.attrs["max"] = allowed.max_stay_days

    def terms(self) -> VisaTerms:
        data = self.cleaned_data
        return VisaTerms(
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            entries=data["entries"],
            max_stay_days=data["max_stay_days"],
        )


class RefuseForm(VersionedForm):
    outcome = forms.CharField(widget=forms.HiddenInput, initial=Decision.Outcome.REFUSE)
    # Not required here: the service says "choose at least one reason" in its own words.
    reasons = forms.MultipleChoiceField(
        label=_("Reasons for the refusal"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    statement = forms.CharField(
        label=_("Explanation"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=5000,
        help_text=_("Printed in the letter. Required for the reasons that need your explanation."),
    )

    def __init__(self, *args: Any, reasons: list[RefusalReason], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reason_rows = reasons
        field = self.fields["reasons"]
        assert isinstance(field, forms.MultipleChoiceField)
        needs = _("needs your explanation")
        field.choices = [
            (r.code, f"{r.label} ({needs})" if r.requires_statement else r.label) for r in reasons
        ]


class SecondReviewForm(forms.Form):
    class Action:
        CONFIRM = "confirm"
        SEND_BACK = "send_back"

    action = forms.ChoiceField(
        choices=[
            (Action.CONFIRM, _("Confirm the decision")),
            (Action.SEND_BACK, _("Send it back")),
        ]
    )
    comment = forms.CharField(
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
        help_text=_("Required to send the decision back: the deciding officer reads it."),
    )


class OfficerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.full_name} ({obj.email})" if obj.full_name else obj.email


class ReassignForm(forms.Form):
    to = OfficerChoiceField(
        label=_("Give the case to"), queryset=User.objects.none(), empty_label=None
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        to = self.fields["to"]
        assert isinstance(to, forms.ModelChoiceField)
        to.queryset = members


class ReferenceField(forms.CharField):
    """A case reference typed loosely (lower case, spaces): the canonical spelling, or blank."""

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        if not text:
            return ""
        try:
            return normalise_reference(text)
        except InvalidReference as exc:
            raise forms.ValidationError(
                _("This is not a valid reference number, e.g. KV-2026-0001234-6.")
            ) from exc


class AuditFilterForm(forms.Form):
    reference = ReferenceField(label=_("Reference"), required=False, max_length=30)
    actor = forms.EmailField(label=_("Done by (email)"), required=False)
    kind = forms.ChoiceField(label=_("Event"), required=False)
    before = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    before_id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = [("", _("Any event")), *kinds]


class AccessLogFilterForm(forms.Form):
    reference = ReferenceField(label=_("Reference"), required=False, max_length=30)
    officer = forms.EmailField(label=_("Officer (email)"), required=False)
    before = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    before_id = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ApiTokenForm(forms.Form):
    label = forms.CharField(
        label=_("What the token is for"),
        max_length=100,
        help_text=_("For example: the script that exports my queue each morning."),
    )
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=90, initial=30)
