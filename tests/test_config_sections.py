"""Config sections: a plugin reads its own part of the config by (dotted) name."""

from pydantic import BaseModel, ConfigDict

from openclaw.config import Config


class WebSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_results: int = 5


def test_section_accepts_a_dotted_name() -> None:
    config = Config.model_validate({"tools": {"web_search": {"max_results": 9}}})
    assert config.section("tools.web_search", WebSearch).max_results == 9
