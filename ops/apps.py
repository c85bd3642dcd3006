from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = _("Ops")

    def ready(self) -> None:
        from celery.signals import worker_ready

        from ops.heartbeat import on_worker_ready

        # In the worker, Django is set up before the worker is ready, so this is connected in
        # time; in web processes the signal never fires.
        worker_ready.connect(on_worker_ready, dispatch_uid="ops.heartbeat.on_worker_ready")
