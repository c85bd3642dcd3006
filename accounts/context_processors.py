from typing import Any

from django.http import HttpRequest


def roles(request: HttpRequest) -> dict[str, Any]:
    """Expose the signed-in user's roles to templates (for the navigation)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"is_officer": False, "is_supervisor": False}
    return {"is_officer": user.is_officer, "is_supervisor": user.is_supervisor}
