"""/api/docs/ works in a browser under the site's Content Security Policy, from this server only
(no CDN), and shows the operations with their examples."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from integrations.filing_apis import EXAMPLE
from tests import api_schema
from tests.test_api_examples import METHODS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_interactive_docs_render_every_operation_without_a_cdn_or_a_csp_error(
    browser, live_server, artifacts
):
    page = browser.new_page()
    errors: list[str] = []
    hosts: set[str] = set()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto(live_server.url + "/api/docs/")
    operation = page.locator("#operations-applications-applications_file")
    operation.wait_for(timeout=30_000)
    paths = api_schema._schema()["paths"].values()
    operations = sum(1 for item in paths for method in item if method in METHODS)
    assert page.locator(".opblock").count() == operations
    operation.locator(".opblock-summary").click()
    # the request body's example, chosen by name, and the answer's (Swagger UI renders the
    # expanded operation after the click returns: wait for it, then count)
    example = operation.locator("option", has_text="A master's graduate")
    example.first.wait_for(state="attached", timeout=30_000)
    assert example.count() >= 1
    operation.get_by_text(EXAMPLE["applicant_email"]).first.wait_for()
    page.screenshot(path=artifacts / "api-docs.png", full_page=False)
    assert errors == []  # a CSP refusal of an inline script or style shows here
    assert hosts == {urlsplit(live_server.url).netloc}
    page.close()
