"""/api/v1/applications/: filing on behalf of applicants (scope applications:submit).

1. ``POST applications/`` with the applicant's email and the answers section by section (the
   same rules as the web form: everything invalid comes back at once, per field);
2. ``POST applications/{id}/documents/`` for each document (multipart: kind, file, degree);
3. ``POST applications/{id}/invitation/`` once complete: the applicant is emailed a link to
   check and sign. Only their signature submits it; ``application.submitted`` follows.
"""

from __future__ import annotations

import functools

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import scope_required
from accounts.models import Scope
from applications.checklist import missing_items
from applications.models import Application, DocumentKind, Status
from integrations import api_examples as X
from integrations import filing
from integrations.apis import IsIntegrationClient, _client
from integrations.filing_schema import filing_body_serializer
from kvisa.errors import ValidationFailed
from kvisa.schema import answer, problems
from ops.idempotency import idempotent
from policy.selectors import policy_in_force

# The scope is never an officer's; IsIntegrationClient makes the caller a client for the types.
SUBMIT: list[type[BasePermission]] = [
    scope_required(Scope.APPLICATIONS_SUBMIT),
    IsIntegrationClient,
]


class MissingSerializer(serializers.Serializer):
    step = serializers.CharField()
    message = serializers.CharField()


class FiledApplicationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    status = serializers.ChoiceField(choices=Status.choices)
    reference = serializers.CharField(allow_null=True)
    applicant_email = serializers.EmailField(source="applicant.email")
    missing = serializers.SerializerMethodField()

    def get_missing(self, application: Application) -> list[dict[str, str]]:
        if application.status != Status.DRAFT:
            return []
        policy = self.context.get("policy", policy_in_force)
        return [m.as_dict() for m in missing_items(application, policy=policy())]


EXAMPLE = {
    "applicant_email": "a.okafor@example.edu",
    "sections": {
        "path": {"path": "graduate"},
        "personal": {
            "family_name": "Okafor",
            "given_names": "Amara",
            "sex": "F",
            "date_of_birth": "1996-04-12",
            "place_of_birth": "Lagos",
            "nationality": "NG",
        },
        "passport": {
            "passport_number": "A12345678",
            "passport_issuing_country": "NG",
            "passport_issue_date": "2022-01-10",
            "passport_expiry_date": "2031-12-01",
        },
        "contact": {
            "contact_email": "a.okafor@example.edu",
            "phone": "+2348012345678",
            "address_line": "12 Marina Road",
            "city": "Lagos",
            "postal_code": "101001",
            "country_of_residence": "NG",
        },
        "post": {"years_experience": 3, "publications_count": 2, "patents_count": 0},
        "language": {"hsk_level": 3, "degree_taught_in_chinese": False},
        "travel": {
            "intended_activities": ["science"],
            "planned_entry_date": "2027-03-01",
            "planned_stay_days": 90,
            "previous_visits": False,
            "previous_refusals": False,
        },
    },
    "degrees": [
        {
            "level": "master",
            "field": "computer-science",
            "institution": "University of Lagos",
            "country": "NG",
            "started_on": "2017-09-01",
            "awarded_on": "2021-07-01",
        }
    ],
}


class ApplicationFileApi(APIView):
    permission_classes = SUBMIT
    parser_classes = [JSONParser]  # nested sections: a form body cannot carry them

    class ApplicationFileInputSerializer(serializers.Serializer):
        """Only the shape: the forms check the answers (filing.application_file)."""

        applicant_email = serializers.EmailField()
        sections = serializers.DictField(child=serializers.DictField())
        degrees = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        operation_id="applications_file",
        # Validation is the forms' (filing.py); the documented body is read off them.
        request=filing_body_serializer(),
        responses={201: FiledApplicationSerializer, **problems(401, 403, 422)},
        examples=[
            OpenApiExample("A master's graduate", value=EXAMPLE, request_only=True),
            answer(X.FILED, "A draft that still needs its documents", status=201),
        ],
        tags=["applications"],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        client = _client(request)
        data = self.ApplicationFileInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The filing's travel section and the answer's checklist read the same policy: once.
        policy = functools.cache(policy_in_force)
        application = filing.application_file(
            client=client,
            applicant_email=data.validated_data["applicant_email"],
            sections=data.validated_data["sections"],
            degrees=data.validated_data["degrees"],
            policy=policy,
        )
        return Response(
            FiledApplicationSerializer(application, context={"policy": policy}).data,
            status=status.HTTP_201_CREATED,
        )


class FiledApplicationApi(APIView):
    """An application this client filed: its status, and what it still lacks."""

    permission_classes = SUBMIT

    @extend_schema(
        operation_id="applications_retrieve",
        examples=[
            answer(X.FILED, "Documents still missing"),
            answer(X.FILED_COMPLETE, "Complete: ready for the invitation"),
        ],
        responses={200: FiledApplicationSerializer, **problems(401, 403, 404)},
        tags=["applications"],
    )
    def get(self, request: Request, application_id: str) -> Response:
        application = filing.filed_application(client=_client(request), public_id=application_id)
        return Response(FiledApplicationSerializer(application).data)


class FiledDocumentApi(APIView):
    permission_classes = SUBMIT
    parser_classes = [MultiPartParser]

    class FiledDocumentInputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=DocumentKind.choices)
        file = serializers.FileField()
        degree = serializers.IntegerField(
            required=False, min_value=0, help_text="Index in `degrees` (0 = the first)."
        )

    class FiledDocumentOutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="public_id")
        kind = serializers.CharField()
        name = serializers.CharField(source="original_name")
        content_type = serializers.CharField()
        size = serializers.IntegerField()
        sha256 = serializers.CharField()

    @extend_schema(
        operation_id="applications_documents_add",
        examples=[
            answer(X.FILED_DOCUMENT, "Stored", status=201),
        ],
        request={"multipart/form-data": FiledDocumentInputSerializer},
        responses={201: FiledDocumentOutputSerializer, **problems(401, 403, 404, 409, 422)},
        tags=["applications"],
    )
    @idempotent
    def post(self, request: Request, application_id: str) -> Response:
        client = _client(request)
        application = filing.filed_application(client=client, public_id=application_id)
        data = self.FiledDocumentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            document = filing.filed_document_add(
                client=client,
                application=application,
                kind=data.validated_data["kind"],
                upload=data.validated_data["file"],
                degree=data.validated_data.get("degree"),
            )
        except DjangoValidationError as exc:
            raise ValidationFailed(
                " ".join(exc.messages), extra={"errors": {"file": exc.messages}}
            ) from exc
        return Response(
            self.FiledDocumentOutputSerializer(document).data, status=status.HTTP_201_CREATED
        )


class InvitationApi(APIView):
    """Ask the applicant to check and sign (the draft must be complete: 422 lists what is
    missing otherwise)."""

    permission_classes = SUBMIT

    @extend_schema(
        operation_id="applications_invite",
        examples=[
            answer(X.INVITED, "Invitation sent: waiting for the applicant to sign", status=202),
        ],
        request=None,
        responses={202: FiledApplicationSerializer, **problems(401, 403, 404, 409, 422)},
        tags=["applications"],
    )
    @idempotent
    def post(self, request: Request, application_id: str) -> Response:
        client = _client(request)
        application = filing.filed_application(client=client, public_id=application_id)
        missing = filing.invitation_send(client=client, application=application)
        if missing:
            raise ValidationFailed(
                _("The application is not complete yet."), extra={"errors": {"missing": missing}}
            )
        return Response(
            FiledApplicationSerializer(application).data, status=status.HTTP_202_ACCEPTED
        )
