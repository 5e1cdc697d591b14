"""Config sections: a plugin reads its own part of the config by (dotted) name."""

from pydantic import BaseModel, ConfigDict

from openclaw.config import Config


class WebSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_results: int = 5


def test_section_accepts_a_dotted_name() -> None:
    config = Config.model_validate({"tools": {"web_search": {"max_results": 9}}})
    assert config.section("tools.web_search", WebSearch).max_results == 9


def test_register_sinks_receives_the_config_and_configures_the_log_sink(make_app) -> None:
    """No `startup` is run: the log sink has the `logging` section from registration."""
    from openclaw.default_plugins.log_sink import LogSink

    app = make_app(config={"logging": {"level": "warning", "format": "json"}})
    sink = next(s for s in app.bus.sinks if isinstance(s, LogSink))
    assert (sink.level, sink.format) == (30, "json")
