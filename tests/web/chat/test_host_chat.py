"""The host app in-process with the real chat mounted: pages, offline HTML, the chat's binding
to the host's resources (set by the lifespan, cleared after it; passed-in resources not closed).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from recagents.errors import RecagentsError
from recagents.resources import AppResources
from recagents.web.chat import binding


def test_the_host_serves_the_chat_offline_and_owns_no_passed_resources(
    tool_settings, agent_services, scripted_llm
):
    from recagents.web.host import create_app

    resources = AppResources(tool_settings, agent_services, llm=scripted_llm(lambda m: "hi"))
    app = create_app(resources=resources, chat=True)
    with TestClient(app) as client:
        assert binding.bound() is resources and app.state.resources is resources
        home = client.get("/", follow_redirects=False)
        assert home.status_code in (302, 307) and home.headers["location"] == "/chat"
        page = client.get("/chat/", headers={"accept-encoding": "gzip"})
        assert page.status_code == 200 and '<div id="root">' in page.text
        assert "https://fonts.googleapis.com" not in page.text
        assert "cdn.jsdelivr.net" not in page.text
        assert "<link" in page.text  # the page's own stylesheet is kept
        project = client.get("/chat/project/settings").json()
        assert project["ui"]["name"] == "recagents"  # the package's config, not Chainlit's
    with pytest.raises(RecagentsError, match="no resources"):
        binding.bound()
    assert agent_services.store is not None  # passed-in resources are not closed by the host
    assert agent_services.store.counts()["items"] > 0


def test_the_app_root_is_written_from_the_package(tmp_path):
    from recagents.web.chat.chainlit_root import SHIPPED, write_app_root

    root = write_app_root(tmp_path / "chainlit")
    config = root / ".chainlit" / "config.toml"
    assert config.read_bytes() == (SHIPPED / "config.toml").read_bytes()
    assert (root / "public" / "theme.json").read_text().strip() == '{"custom_fonts": []}'
    config.write_text("stale")  # a package update refreshes it
    write_app_root(root)
    assert config.read_bytes() == (SHIPPED / "config.toml").read_bytes()
