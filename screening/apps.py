from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "screening"
    verbose_name = _("Screening and review queues")

    def ready(self) -> None:
        # The applicant side calls these hooks without importing this app (see applications.hooks).
        from applications import hooks
        from screening import services

        hooks.submitted.connect(services.screening_run_for_submission)
        hooks.evidence_answered.connect(services.queue_entry_resume_after_evidence)
        hooks.withdrawn.connect(services.queue_entry_close_after_withdrawal)
