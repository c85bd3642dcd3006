from pathlib import Path

import pytest
from django.conf import settings

VENDORED = [
    "vendor/bootstrap/css/bootstrap.min.css",
    "vendor/bootstrap/css/bootstrap.min.css.map",
    "vendor/bootstrap/js/bootstrap.bundle.min.js",
    "vendor/bootstrap/js/bootstrap.bundle.min.js.map",
    "vendor/bootstrap/LICENSE",
    "vendor/htmx/htmx.min.js",
    "vendor/htmx/LICENSE",
    "css/kvisa.css",
]


@pytest.mark.parametrize("name", VENDORED)
def test_static_file_is_vendored(name):
    path = Path(settings.BASE_DIR, "static", name)

    assert path.is_file()
    assert path.stat().st_size > 0


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("vendor/bootstrap/css/bootstrap.min.css", "text/css"),
        ("vendor/bootstrap/js/bootstrap.bundle.min.js", "text/javascript"),
        ("vendor/htmx/htmx.min.js", "text/javascript"),
        ("css/kvisa.css", "text/css"),
    ],
)
def test_static_file_is_served_by_whitenoise(client, name, content_type):
    response = client.get(f"{settings.STATIC_URL}{name}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert "whitenoise" in type(response).__module__
    body = b"".join(response.streaming_content)  # the test client closes the file after this
    assert body == Path(settings.BASE_DIR, "static", name).read_bytes()


def test_vendored_versions_are_the_pinned_majors():
    static = Path(settings.BASE_DIR, "static", "vendor")

    assert "Bootstrap  v5.3." in (static / "bootstrap/css/bootstrap.min.css").read_text()
    assert "v5.3." in (static / "bootstrap/js/bootstrap.bundle.min.js").read_text()[:200]
    assert 'version:"2.0.' in (static / "htmx/htmx.min.js").read_text()
