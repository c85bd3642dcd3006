from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Reviews and decisions")

    def ready(self) -> None:
        from applications import hooks
        from reviews import services

        hooks.withdrawn.connect(services.decisions_cancel_after_withdrawal)
        hooks.review_requested.connect(services.review_request_notify)
