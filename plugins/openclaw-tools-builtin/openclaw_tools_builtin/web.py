"""Web tools: `web_search` through a search provider (DuckDuckGo's HTML page by default) and
`web_fetch`, which reads a page as text under SSRF checks, a size cap and a timeout.

Search backends are providers of kind "search" so a plugin can add another (an API with a key,
a self-hosted SearXNG) without touching the tool. aiohttp, lxml and trafilatura are imported
inside the functions that use them: loading the plugin must stay cheap.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openclaw.config import ConfigError
from openclaw.providers import ProviderError, ProviderType, SearchProvider, SearchResult
from openclaw.sandbox import USER_AGENT, guarded_get
from openclaw.tools import Tool, ToolCallContext, ToolError, tool

if TYPE_CHECKING:
    from aiohttp import ClientResponse

    from openclaw.sandbox import SandboxPolicy
    from openclaw.tools import ToolContext


def _http_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError("must be an http:// or https:// URL")
    return value


class DuckDuckGoSettings(BaseModel):
    """`providers.duckduckgo` (or any instance of type "duckduckgo")."""

    model_config = ConfigDict(extra="forbid")

    type: str = "duckduckgo"
    endpoint: str = "https://html.duckduckgo.com/html/"
    timeout: float = Field(15, gt=0, le=120)

    _check_endpoint = field_validator("endpoint")(_http_url)


class DuckDuckGo:
    """Searches DuckDuckGo's no-JavaScript HTML page (no key needed) and parses its results."""

    def __init__(self, name: str, settings: DuckDuckGoSettings) -> None:
        self.name = name
        self.settings = settings

    async def search(self, query: str, max_results: int) -> list[SearchResult]:
        import aiohttp

        endpoint = self.settings.endpoint
        try:
            async with (
                aiohttp.ClientSession(headers={"User-Agent": USER_AGENT}) as session,
                asyncio.timeout(self.settings.timeout),
                session.post(endpoint, data={"q": query, "b": ""}) as response,
            ):
                if response.status != 200:
                    hint = " (a rate limit or bot check)" if response.status == 202 else ""
                    raise ProviderError(
                        self.name,
                        f"{endpoint} answered HTTP {response.status}{hint}",
                        status=response.status,
                    )
                page = await response.text(errors="replace")
        except TimeoutError:
            raise ProviderError(
                self.name, f"{endpoint} did not answer within {self.settings.timeout:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            raise ProviderError(self.name, f"cannot reach {endpoint}: {exc}") from exc
        return parse_duckduckgo(page)[:max_results]


DUCKDUCKGO = ProviderType(
    name="duckduckgo",
    kind="search",
    create=DuckDuckGo,
    settings_model=DuckDuckGoSettings,
    presets={"duckduckgo": {"endpoint": "https://html.duckduckgo.com/html/"}},
    description="DuckDuckGo's HTML results page (no API key)",
)


def _has_class(name: str) -> str:
    return f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'


def unwrap_redirect(href: str) -> str:
    """DuckDuckGo links results through `//duckduckgo.com/l/?uddg=<target>`; return the target."""
    if href.startswith("//"):
        href = "https:" + href
    parsed = urlparse(href)
    on_ddg = (parsed.hostname or "duckduckgo.com").endswith("duckduckgo.com")
    if on_ddg and parsed.path == "/l/":
        target = parse_qs(parsed.query).get("uddg")
        if target:
            return target[0]
    return href


def _text(nodes: list[Any]) -> str:
    return " ".join(" ".join(node.text_content().split()) for node in nodes).strip()


def parse_duckduckgo(page: str) -> list[SearchResult]:
    """Results of a DuckDuckGo HTML page, in order; ads and links back to DuckDuckGo are
    skipped (ads are marked `result--ad` and go through `duckduckgo.com/y.js`)."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        tree = lxml_html.fromstring(page)
    except (etree.ParserError, ValueError):  # an empty page
        return []
    results = []
    for link in tree.xpath(f"//a[{_has_class('result__a')}]"):
        box = link.xpath(f"ancestor::*[{_has_class('result')}][1]")
        if box and "result--ad" in box[0].get("class", "").split():
            continue
        url = unwrap_redirect(link.get("href", ""))
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or parsed.hostname is None:
            continue
        if parsed.hostname.endswith("duckduckgo.com"):
            continue
        snippet = _text(box[0].xpath(f".//*[{_has_class('result__snippet')}]")) if box else ""
        results.append(SearchResult(_text([link]) or url, url, snippet))
    return results


# --- the `tools` config section ----------------------------------------------------------------


class WebSearchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = "duckduckgo"


class WebFetchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(20, gt=0, le=300)
    max_bytes: int = Field(128 * 1024, ge=1024, le=16 * 1024 * 1024)


# --- web_search --------------------------------------------------------------------------------


class WebSearchArguments(BaseModel):
    query: str = Field(min_length=1, description="What to search for.")
    max_results: int = Field(5, ge=1, le=10, description="How many results to return (1-10).")


def format_results(query: str, results: list[SearchResult]) -> str:
    if not results:
        return f"No results for {query!r}."
    blocks = []
    for number, result in enumerate(results, start=1):
        lines = [f"{number}. {result.title}", f"   {result.url}"]
        if result.snippet:
            lines.append(f"   {result.snippet}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _search_tool(settings: WebSearchSettings) -> Tool:
    async def web_search(query: str, max_results: int, context: ToolCallContext) -> str:
        """Search the web. Returns numbered results with title, URL and snippet; fetch a
        result's page with web_fetch to read it."""
        try:
            provider = context.services.models.get(settings.provider, "search")
        except (LookupError, ConfigError) as exc:
            raise ToolError(f"web search is not configured: {exc}") from None
        if not isinstance(provider, SearchProvider):
            raise ToolError(f"provider {settings.provider!r} is not a search provider")
        try:
            results = await provider.search(query, max_results)
        except ProviderError as exc:
            raise ToolError(f"web search failed: {exc}") from None
        return format_results(query, results[:max_results])

    return tool(web_search, arguments=WebSearchArguments)


# --- web_fetch ---------------------------------------------------------------------------------

_TEXT_TYPES = {
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/yaml",
    "application/x-yaml",
    "application/toml",
    "application/x-ndjson",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_-]+)""", re.IGNORECASE)


class WebFetchArguments(BaseModel):
    url: str = Field(description="The http:// or https:// URL to read.")
    max_chars: int = Field(
        20_000, ge=500, le=100_000, description="Return at most this many characters of text."
    )


@dataclass(slots=True)
class Page:
    url: str
    title: str
    text: str
    truncated: bool


def _kind(mime: str, head: bytes) -> str | None:
    """The kind of a body: html, text, or None for binary; sniffed when the server sent no type."""
    if mime in ("text/html", "application/xhtml+xml"):
        return "html"
    if mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+json", "+xml")):
        return "text"
    if mime:
        return None
    if b"\x00" in head:
        return None
    start = head[:512].lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "text" if exc.start >= len(head) - 3 else None  # a character cut by the cap
    return "text"


async def _read_capped(response: ClientResponse, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the body; stops reading (and drops the connection) past it."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(16 * 1024):
        body += chunk
        if len(body) > limit:
            return bytes(body[:limit]), True
    return bytes(body), False


def _charset(declared: str | None, body: bytes, kind: str) -> str:
    if declared:
        return declared
    found = _META_CHARSET.search(body[:4096]) if kind == "html" else None
    return found.group(1).decode("ascii") if found else "utf-8"


def _decode(body: bytes, charset: str) -> str:
    try:
        return body.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return body.decode("utf-8", errors="replace")


def html_to_text(body: bytes, charset: str, url: str) -> tuple[str, str]:
    """(title, readable text) of an HTML page: trafilatura keeps the main content and drops
    navigation and boilerplate; a page it finds no content in falls back to all its text."""
    import trafilatura
    from lxml import etree
    from lxml import html as lxml_html

    try:
        parser = lxml_html.HTMLParser(encoding=charset)
    except LookupError:
        parser = lxml_html.HTMLParser(encoding="utf-8")
    try:
        tree = lxml_html.document_fromstring(body, parser=parser)
    except (etree.ParserError, ValueError):  # nothing but whitespace
        return "", ""
    title = " ".join((tree.findtext(".//title") or "").split())
    document = trafilatura.bare_extraction(tree, url=url, with_metadata=True)
    text = getattr(document, "text", None) or ""
    title = title or getattr(document, "title", None) or ""
    if not text:
        text = trafilatura.html2txt(_decode(body, charset)) or ""
    return title, text.strip()


async def fetch(url: str, policy: SandboxPolicy, settings: WebFetchSettings) -> Page:
    """GET `url` with every redirect hop checked against SSRF (see `guarded_get`)."""
    get = guarded_get(policy, url, timeout=settings.timeout, action="fetching")
    async with get as (response, final):
        if response.status >= 400:
            raise ToolError(f"{final} answered HTTP {response.status} {response.reason or ''}")
        return await _page(response, final, settings)


async def _page(response: ClientResponse, url: str, settings: WebFetchSettings) -> Page:
    header = response.headers.get("Content-Type", "")
    mime = header.split(";")[0].strip().lower()
    if mime and _kind(mime, b"") is None:
        raise ToolError(f"{url} is {mime}, not text; web_fetch reads web pages, text and JSON only")
    body, truncated = await _read_capped(response, settings.max_bytes)
    kind = _kind(mime, body[:4096])
    if kind is None:
        raise ToolError(f"{url} looks like binary data; web_fetch reads text only")
    charset = _charset(response.charset, body, kind)
    if kind == "html":
        # parsing up to max_bytes of HTML takes a while: keep the event loop free meanwhile
        title, text = await asyncio.to_thread(html_to_text, body, charset, url)
    else:
        title, text = "", _decode(body, charset)
    return Page(url, title, text, truncated)


def format_page(page: Page, requested: str, max_chars: int, settings: WebFetchSettings) -> str:
    lines = [f"Title: {page.title}"] if page.title else []
    moved = f" (redirected from {requested})" if page.url != requested else ""
    lines.append(f"URL: {page.url}{moved}")
    if page.truncated:
        lines.append(f"[page larger than {settings.max_bytes // 1024} KB: only the start was read]")
    text = page.text or "(no readable text)"
    if len(text) > max_chars:
        text = f"{text[:max_chars]}\n[... {len(text) - max_chars} more characters not shown]"
    return "\n".join(lines) + "\n\n" + text


def _fetch_tool(policy: SandboxPolicy, settings: WebFetchSettings) -> Tool:
    async def web_fetch(url: str, max_chars: int) -> str:
        """Read a web page (or a text or JSON document) as plain text: its title, final URL
        and main content. Only public http(s) addresses; binary files are refused."""
        return format_page(await fetch(url, policy, settings), url, max_chars, settings)

    # the fetch's own timeout fires first and says what timed out
    return tool(web_fetch, arguments=WebFetchArguments, timeout=settings.timeout + 5)


def make_tools(policy: SandboxPolicy, context: ToolContext) -> list[Tool]:
    search = context.config.section("tools.web_search", WebSearchSettings)
    fetch_settings = context.config.section("tools.web_fetch", WebFetchSettings)
    return [_search_tool(search), _fetch_tool(policy, fetch_settings)]
