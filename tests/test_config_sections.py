"""Config sections: a plugin reads its own part of the config by (dotted) name."""

import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from openclaw import hookimpl
from openclaw.config import Config, ConfigError, ConfigSection


class WebSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_results: int = 5


def test_section_accepts_a_dotted_name() -> None:
    config = Config.model_validate({"tools": {"web_search": {"max_results": 9}}})
    assert config.section("tools.web_search", WebSearch).max_results == 9


def test_register_sinks_receives_the_config_and_configures_the_log_sink(openclaw_make_app) -> None:
    """No `startup` is run: the log sink has the `logging` section from registration."""
    from openclaw.default_plugins.log_sink import LogSink

    app = openclaw_make_app(config={"logging": {"level": "warning", "format": "json"}})
    sink = next(s for s in app.bus.sinks if isinstance(s, LogSink))
    assert (sink.level, sink.format) == (30, "json")


# --- who owns a section (issue 17) --------------------------------------------------------------


class Weather(BaseModel):
    model_config = ConfigDict(extra="forbid")

    units: Literal["metric", "imperial"] = "metric"


class WeatherPlugin:
    """An embedding app's in-process plugin that claims the top-level `weather` section."""

    @hookimpl
    def register_config_sections(self, register: Any) -> None:
        register(ConfigSection("weather", Weather, "the weather tool"))


def test_config_validate_refuses_sandox_naming_sandbox_and_the_file(run, openclaw_home) -> None:
    path = openclaw_home / "openclaw.json"
    path.write_text(json.dumps({"sandox": {"network": True}}))
    done = run("config", "validate")
    assert done.returncode == 1, done.stdout
    assert "sandox" in done.stderr and "did you mean 'sandbox'?" in done.stderr
    assert str(path) in done.stderr
    assert "Traceback" not in done.stderr


def test_app_start_refuses_sandox(openclaw_make_app, openclaw_home) -> None:
    with pytest.raises(ConfigError) as caught:
        openclaw_make_app(config={"sandox": {}})
    message = str(caught.value)
    assert "sandox" in message and "did you mean 'sandbox'?" in message
    assert str(openclaw_home / "openclaw.json") in message


def test_an_unknown_key_under_tools_is_refused_with_the_nearest_name(openclaw_make_app) -> None:
    with pytest.raises(ConfigError, match=r"tools\.web_serch.*did you mean 'tools\.web_search'"):
        openclaw_make_app(config={"tools": {"web_serch": {"max_results": 3}}})


def test_a_section_of_a_first_party_plugin_not_installed_is_a_warning(
    openclaw_make_app, run, openclaw_home
) -> None:
    app = openclaw_make_app(config={"voice": {"timeout": 5}, "tools": {"browser": {}}})
    warnings = app.validate_sections()
    assert any(w.startswith("voice:") and "openclaw-voice" in w for w in warnings), warnings
    assert any(w.startswith("tools.browser:") and "openclaw-browser" in w for w in warnings)
    done = run("config", "validate")  # OPENCLAW_LOAD_PLUGINS="": openclaw-voice is not loaded
    assert done.returncode == 0, done.stderr
    assert "openclaw-voice" in done.stderr and "config ok" in done.stdout


def test_a_claimed_section_is_validated_by_the_plugins_model(
    openclaw_make_app, openclaw_home
) -> None:
    with pytest.raises(ConfigError) as caught:
        openclaw_make_app(
            config={"weather": {"units": "kelvin"}}, plugins=[("weather", WeatherPlugin())]
        )
    message = str(caught.value)
    assert "weather.units" in message and str(openclaw_home / "openclaw.json") in message


def test_an_in_process_plugins_claim_makes_its_section_accepted(openclaw_make_app) -> None:
    config = {"weather": {"units": "imperial"}}
    with pytest.raises(ConfigError, match="weather"):
        openclaw_make_app(config=config)  # nobody claims it
    app = openclaw_make_app(config=config, plugins=[("weather", WeatherPlugin())])
    assert app.registry.config_sections["weather"].plugin == "weather"
    assert app.registry.declared_by("weather") == {"config_sections": ["weather"]}
    assert app.validate_sections() == []
    assert app.config.section("weather", Weather).units == "imperial"


def test_a_clash_or_a_kernel_field_is_a_problem_and_the_first_claim_wins(openclaw_make_app) -> None:
    class Rival:
        @hookimpl
        def register_config_sections(self, register: Any) -> None:
            register(ConfigSection("weather", WebSearch))
            register(ConfigSection("sandbox", WebSearch))

    app = openclaw_make_app(plugins=[("weather", WeatherPlugin()), ("rival", Rival())])
    owner = app.registry.config_sections["weather"].plugin  # the first called (hook order)
    loser = {"weather": "rival", "rival": "weather"}[owner]
    assert f"plugin {loser!r}: config section 'weather' is already registered by plugin " in (
        "\n".join(app.problems)
    )
    assert "sandbox" not in app.registry.config_sections
    assert any("'sandbox' belongs to the kernel" in p for p in app.problems)


def test_the_first_party_plugins_claim_the_sections_they_read(openclaw_make_app) -> None:
    app = openclaw_make_app(
        config={"voice": {"timeout": 5}, "tools": {"web_search": {}, "image": {}}},
        entry_points=True,
    )
    owners = {name: r.plugin for name, r in app.registry.config_sections.items()}
    assert owners == {
        "voice": "voice",
        "tools.web_search": "tools",
        "tools.web_fetch": "tools",
        "tools.browser": "browser",
        "tools.image": "browser",
    }
    assert app.validate_sections() == []


def test_doctor_reports_an_unclaimed_key_as_a_config_failure(run, openclaw_home) -> None:
    (openclaw_home / "openclaw.json").write_text(json.dumps({"sandox": {}}))
    done = run("doctor")
    assert done.returncode == 1
    assert "did you mean 'sandbox'?" in done.stdout and "1 failure(s)" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_gateway_does_not_start_with_an_unclaimed_key(run, openclaw_home) -> None:
    (openclaw_home / "openclaw.json").write_text(json.dumps({"sandox": {}}))
    done = run("gateway")
    assert done.returncode == 1
    assert done.stderr.startswith("Error: ") and "did you mean 'sandbox'?" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_set_refuses_an_unclaimed_key_and_changes_nothing(run, openclaw_home) -> None:
    path = openclaw_home / "openclaw.json"
    path.write_text("{}\n")
    done = run("config", "set", "sandox.network", "true")
    assert done.returncode == 1
    assert "did you mean 'sandbox'?" in done.stderr and "nothing was changed" in done.stderr
    assert path.read_text() == "{}\n"
