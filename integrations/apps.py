from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations and webhooks")

    def ready(self) -> None:
        from integrations.tasks import outbox_dispatch
        from ops import events

        events.dispatcher_connect(outbox_dispatch)
