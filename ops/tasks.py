from celery import shared_task


@shared_task
def worker_heartbeat() -> None:
    pass


@shared_task
def clear_expired_sessions() -> None:
    pass
