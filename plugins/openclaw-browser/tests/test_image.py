"""The image tool: a real image content part goes through the kernel's OpenAI provider (the
real SDK) to a local OpenAI-compatible server, or to the agent's own model; the image comes
from the workspace or a local URL, its type judged from its bytes; limits and refusals."""

from __future__ import annotations

import base64

from openclaw_browser.image_tool import choose_models
from openclaw_browser.settings import ImageSettings

from openclaw.messages import ImagePart, TextPart
from openclaw.testing.servers import Reply


def image_parts(body: dict) -> tuple[str, bytes]:
    """(prompt, image bytes) of the single user message an OpenAI request carries."""
    (message,) = body["messages"]
    text, image = message["content"]
    assert text["type"] == "text" and image["type"] == "image_url"
    header, _, encoded = image["image_url"]["url"].partition(",")
    assert header == "data:image/png;base64"
    return text["text"], base64.b64decode(encoded)


async def test_a_workspace_image_goes_to_the_vision_provider_from_the_environment(
    openclaw_make_app, ask, browser_plugin, openclaw_openai_server, png, monkeypatch
):
    monkeypatch.setenv("OPENCLAW_VISION_BASE_URL", openclaw_openai_server.base_url)
    monkeypatch.setenv("OPENCLAW_VISION_MODEL", "vision-test")
    openclaw_openai_server.enqueue("A red rectangle on nothing else.")
    picture = png(8, 5)
    async with openclaw_make_app(plugins=[browser_plugin]) as app:
        app.config.workspace.mkdir(parents=True, exist_ok=True)
        (app.config.workspace / "red.png").write_bytes(picture)
        (result,) = await ask(app, ("image", {"image": "red.png", "prompt": "What is this?"}))
    assert not result.is_error, result.text
    assert result.text == "A red rectangle on nothing else."
    (body,) = openclaw_openai_server.requests
    assert body["model"] == "vision-test"
    assert image_parts(body) == ("What is this?", picture)


async def test_a_url_image_goes_to_a_configured_model_ref(
    openclaw_make_app, ask, browser_plugin, openclaw_openai_server, site, png
):
    config = {
        "providers": {"fake": {"type": "openai", "base_url": openclaw_openai_server.base_url}},
        "tools": {"image": {"model": "fake/fake-vision"}},
        "sandbox": {"allowed_hosts": ["127.0.0.1"]},
    }
    openclaw_openai_server.enqueue("Four by three, red.")
    async with openclaw_make_app(config, plugins=[browser_plugin]) as app:
        (result,) = await ask(app, ("image", {"image": f"{site.base}/red.png"}))
    assert result.text == "Four by three, red."
    (body,) = openclaw_openai_server.requests
    assert body["model"] == "fake-vision"
    assert image_parts(body) == ("Describe this image in detail.", png(4, 3))


async def test_without_a_vision_setting_the_agents_model_sees_the_image(
    openclaw_make_app, browser_plugin, openclaw_mock_model, png
):
    openclaw_mock_model.enqueue(tool_calls=[("image", {"image": "red.png"})])
    openclaw_mock_model.enqueue("a red square").enqueue("It is a red square.")
    async with openclaw_make_app(plugins=[browser_plugin]) as app:
        app.config.workspace.mkdir(parents=True, exist_ok=True)
        (app.config.workspace / "red.png").write_bytes(png(2, 2))
        finished = await app.ask("what is in red.png?")
    assert finished.text == "It is a red square."
    (message,) = openclaw_mock_model.requests[1].messages
    text, image = message.content
    assert isinstance(text, TextPart) and isinstance(image, ImagePart)
    assert image.data == png(2, 2) and image.mime_type == "image/png"
    assert openclaw_mock_model.tool_results()[0].text == "a red square"


async def test_bad_images_and_refused_sources_are_error_results(
    openclaw_make_app, ask, browser_plugin, openclaw_openai_server, site, png
):
    config = {
        "providers": {"fake": {"type": "openai", "base_url": openclaw_openai_server.base_url}},
        "tools": {"image": {"model": "fake/fake-vision", "max_bytes": 2048}},
    }
    async with openclaw_make_app(config, plugins=[browser_plugin]) as app:
        workspace = app.config.workspace
        workspace.mkdir(parents=True, exist_ok=True)
        (workspace / "notes.png").write_text("not a picture at all")
        (workspace / "big.png").write_bytes(png(64, 64, (1, 2, 3))[:8] + bytes(4096))
        results = await ask(
            app,
            ("image", {"image": "notes.png"}),
            ("image", {"image": "big.png"}),
            ("image", {"image": "missing.png"}),
            ("image", {"image": "/etc/hostname"}),
            ("image", {"image": "file:///etc/passwd"}),
            ("image", {"image": f"{site.base}/red.png"}),
            ("image", {"image": "http://169.254.169.254/cat.png"}),
        )
    text, big, missing, outside, scheme, loopback, metadata = results
    assert all(result.is_error for result in results)
    assert "notes.png is not a PNG, JPEG, GIF or WebP image" in text.text
    assert "big.png is 4 KB; images up to 2 KB" in big.text
    assert "missing.png does not exist" in missing.text
    assert "blocked by sandbox rule" in outside.text
    assert "give an http(s) URL or a path in the workspace" in scheme.text
    assert "127.0.0.1, a loopback address" in loopback.text
    assert "169.254.169.254, a link-local address" in metadata.text
    assert openclaw_openai_server.requests == []


async def test_a_failing_vision_model_is_an_error_result(
    openclaw_make_app, ask, browser_plugin, openclaw_openai_server, png
):
    config = {
        "tools": {
            "image": {
                "model": "vision-test",
                "provider": {"base_url": openclaw_openai_server.base_url, "max_retries": 0},
            }
        }
    }
    openclaw_openai_server.enqueue(Reply.error(500, "the GPU caught fire"))
    async with openclaw_make_app(config, plugins=[browser_plugin]) as app:
        app.config.workspace.mkdir(parents=True, exist_ok=True)
        (app.config.workspace / "red.png").write_bytes(png(2, 2))
        (result,) = await ask(app, ("image", {"image": "red.png"}))
    assert result.is_error
    assert "no vision model answered (tools.image.provider)" in result.text
    assert "vision/vision-test: HTTP 500 (server error)" in result.text
    assert "the GPU caught fire" not in result.text  # the server's words go to the log only


def test_the_vision_model_is_chosen_from_config_then_environment_then_agent():
    configured = ImageSettings(model="anthropic/claude-x")
    env = {"OPENAI_API_KEY": "k", "OPENROUTER_API_KEY": "r"}
    assert choose_models(configured, env).refs == ("anthropic/claude-x",)
    own = choose_models(ImageSettings(), {"OPENCLAW_VISION_API_KEY": "v", **env})
    assert own.refs == ("vision/gpt-4o-mini",)
    assert own.provider == {"type": "openai", "api_key": {"$env": "OPENCLAW_VISION_API_KEY"}}
    assert choose_models(ImageSettings(), env).refs == ("openai/gpt-4o-mini",)
    routed = choose_models(ImageSettings(), {"OPENROUTER_API_KEY": "r"})
    assert routed.refs == ("openrouter/openai/gpt-4o-mini",)
    assert choose_models(ImageSettings(), {}).refs == ()
