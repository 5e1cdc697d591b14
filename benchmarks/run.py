"""Run every openclaw benchmark, print a table and write `benchmarks/results.json`.

    python benchmarks/run.py              # everything, about 30 s on 2 cores
    python benchmarks/run.py --quick      # fewer repetitions, for a smoke test
    python benchmarks/run.py --profile    # also profile App.ask turns and print the top costs
    python benchmarks/run.py --attribute  # also time kernel functions inside App.ask turns

What each figure means is in benchmarks/README.md. Nothing leaves 127.0.0.1: the model is
`openclaw.testing.servers.FakeOpenAIServer`, a real aiohttp SSE server in a background thread.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results.json"

ANSWER = "Hello! This is the fake model answering a short benchmark question."
CHUNKS = 5
QUESTION = "Say hello in one sentence."
MODEL = "fake-model"

HEAVY = ("openai", "anthropic", "sqlite_utils", "structlog")
"""Must not be imported by building an App: each is loaded on first use only."""
WATCHED = (*HEAVY, "httpx", "httpx2", "aiohttp", "click", "pydantic", "pluggy", "sqlite3")
"""Reported when present after App construction, for context."""

# The "load all plugins" probe: a fresh interpreter builds App(Config()) (entry points and
# default plugins, registry built) and reports its own timings and what got imported.
APP_PROBE = f"""
import time
t0 = time.perf_counter()
from openclaw.app import App
from openclaw.config import Config
t1 = time.perf_counter()
app = App(Config())
t2 = time.perf_counter()
import json, sys
print(json.dumps({{
    "import_ms": (t1 - t0) * 1000,
    "build_ms": (t2 - t1) * 1000,
    "modules": len(sys.modules),
    "watched": [m for m in {WATCHED!r} if m in sys.modules],
    "plugins": app.plugins.names(),
    "problems": app.problems,
}}))
"""


# --- statistics and output -------------------------------------------------------------------


def summary(samples_ms: list[float]) -> dict[str, Any]:
    """median, p90, min, max and n of a list of milliseconds (rounded for the JSON)."""
    ordered = sorted(samples_ms)
    p90 = statistics.quantiles(ordered, n=10, method="inclusive")[-1] if len(ordered) > 1 else 0
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p90_ms": round(p90 or ordered[0], 3),
        "min_ms": round(ordered[0], 3),
        "max_ms": round(ordered[-1], 3),
        "n": len(ordered),
    }


def print_table(rows: list[tuple[str, dict[str, Any]]]) -> None:
    width = max(len(name) for name, _ in rows)
    header = f"{'benchmark':<{width}}  {'median':>9}  {'p90':>9}  {'min':>9}  {'max':>9}  {'n':>4}"
    print(header)
    print("-" * len(header))
    for name, s in rows:
        if s is None:
            print(name)
            continue
        cells = [f"{s[key]:9.2f}" for key in ("median_ms", "p90_ms", "min_ms", "max_ms")]
        print(f"{name:<{width}}  {'  '.join(cells)}  {s['n']:>4}")
    print("(all times in milliseconds)")


def step(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- cold start --------------------------------------------------------------------------------


def clean_env(home: Path, pycache: Path | None) -> dict[str, str]:
    """The current environment without any OPENCLAW_* setting, with a fresh OPENCLAW_HOME.

    With `pycache`, bytecode is cached there (PYTHONPYCACHEPREFIX): what an installed openclaw
    sees from its second run on, without writing into the repository. Without it, bytecode is
    never written (PYTHONDONTWRITEBYTECODE=1), so the editable kernel is compiled on every run.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env["OPENCLAW_HOME"] = str(home)
    for name in ("PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"):
        env.pop(name, None)
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def console_scripts() -> dict[str, list[str]]:
    """The `openclaw` console script next to this interpreter, and the one on PATH when that is a
    different file (a pyenv shim, which adds its own start-up cost)."""
    found: dict[str, list[str]] = {}
    direct = Path(sys.executable).parent / "openclaw"
    if direct.exists():
        found["direct"] = [str(direct)]
    on_path = shutil.which("openclaw")
    if on_path and (not direct.exists() or Path(on_path).resolve() != direct.resolve()):
        found["path"] = [on_path]
    if not found:
        found["direct"] = [sys.executable, "-c", "from openclaw.cli import main; main()"]
    return found


def timed_run(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=REPO)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{argv} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def import_profile(env: dict[str, str], top: int = 8) -> list[dict[str, Any]]:
    """The modules with the largest self import time when building an App (`-X importtime`)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", APP_PROBE],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    rows: list[dict[str, Any]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        rows.append(
            {
                "module": name.strip(),
                "self_ms": int(self_us) / 1000,
                "cumulative_ms": int(cumulative_us) / 1000,
            }
        )
    return sorted(rows, key=lambda row: -row["self_ms"])[:top]


def bench_cold_start(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="openclaw-bench-") as tmp:
        home = Path(tmp) / "home"
        env = clean_env(home, pycache=Path(tmp) / "pycache")
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "python_pass": ([sys.executable, "-c", "pass"], env)
        }
        for where, argv in console_scripts().items():
            commands[f"help_{where}"] = ([*argv, "--help"], env)
        commands["app_build"] = ([sys.executable, "-c", APP_PROBE], env)
        commands["app_build_no_bytecode"] = (
            [sys.executable, "-c", APP_PROBE],
            clean_env(home, pycache=None),
        )

        for argv, run_env in commands.values():  # warm the OS file cache and bytecode cache
            timed_run(argv, run_env)

        walls: dict[str, list[float]] = {name: [] for name in commands}
        probes: dict[str, list[dict[str, Any]]] = {"app_build": [], "app_build_no_bytecode": []}
        for _ in range(runs):  # interleaved, so drift hits every command alike
            for name, (argv, run_env) in commands.items():
                elapsed, out = timed_run(argv, run_env)
                walls[name].append(elapsed)
                if name in probes:
                    probes[name].append(json.loads(out.strip().splitlines()[-1]))

        cached, uncached = probes["app_build"], probes["app_build_no_bytecode"]
        last = cached[-1]
        result: dict[str, Any] = {
            "commands": {name: " ".join(argv[:2]) for name, (argv, _) in commands.items()},
            "wall": {name: summary(samples) for name, samples in walls.items()},
            "app_import": summary([p["import_ms"] for p in cached]),
            "app_build": summary([p["build_ms"] for p in cached]),
            "app_import_and_build": summary([p["import_ms"] + p["build_ms"] for p in cached]),
            "app_import_no_bytecode": summary([p["import_ms"] for p in uncached]),
            "app_build_no_bytecode": summary([p["build_ms"] for p in uncached]),
            "modules_after_app": last["modules"],
            "watched_modules_after_app": last["watched"],
            "heavy_modules_after_app": [m for m in HEAVY if m in last["watched"]],
            "plugins": last["plugins"],
            "problems": last["problems"],
            "top_imports_by_self_time": import_profile(env),
        }
        base = result["wall"]["python_pass"]["median_ms"]
        result["kernel_cost_over_interpreter_ms"] = {
            name: round(s["median_ms"] - base, 3)
            for name, s in result["wall"].items()
            if name != "python_pass"
        }
        return result


# --- one turn: bare SDK call vs App.ask -----------------------------------------------------


def reply(body: dict[str, Any]) -> Any:
    from openclaw.testing.servers import Reply

    return Reply(ANSWER, chunks=CHUNKS)


def make_config(home: Path, base_url: str) -> Any:
    from openclaw.config import Config

    (home / "workspace").mkdir(parents=True, exist_ok=True)  # empty: preamble-only prompt
    return Config.model_validate(
        {
            "agent": {"model": f"fake/{MODEL}"},
            "providers": {"fake": {"type": "openai", "base_url": base_url, "max_retries": 0}},
            "home": home,
        }
    )


@contextlib.contextmanager
def quiet_sinks(app: Any) -> Iterator[None]:
    """Point the log sink (which logs every `turn.finished` at the default `info` level) at
    /dev/null: its formatting cost stays in the measurement, the terminal stays readable."""
    with open(os.devnull, "w") as devnull:
        for sink in app.bus.sinks:
            if hasattr(sink, "stream"):
                sink.stream = devnull
        yield


class BareClient:
    """A bare `openai.AsyncOpenAI` client: one streaming chat completion, consumed to the end."""

    def __init__(self, base_url: str) -> None:
        import openai

        self.client = openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)

    async def call(self, payload: dict[str, Any]) -> float:
        """Milliseconds for one streamed answer to `payload` (chat.completions arguments)."""
        start = time.perf_counter()
        stream = await self.client.chat.completions.create(**payload)
        text = []
        async with stream:
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta.content:
                        text.append(choice.delta.content)
        elapsed = (time.perf_counter() - start) * 1000
        assert "".join(text) == ANSWER, text
        return elapsed

    async def aclose(self) -> None:
        await self.client.close()


def request_payload(body: dict[str, Any]) -> dict[str, Any]:
    """The chat.completions arguments that produced a request body the server received."""
    keys = ("model", "messages", "tools", "stream", "stream_options")
    return {key: body[key] for key in keys if key in body}


async def bare_series(
    base_url: str, payload: dict[str, Any], warmup: int, runs: int
) -> list[float]:
    """`runs` sequential bare-client calls (after `warmup`), all in this event loop."""
    bare = BareClient(base_url)
    try:
        for _ in range(warmup):
            await bare.call(payload)
        gc.collect()  # start every series with the same heap state
        return [await bare.call(payload) for _ in range(runs)]
    finally:
        await bare.aclose()


async def app_series(
    config: Any,
    warmup: int,
    runs: int,
    session: Callable[[int], str],
    *,
    profiler: cProfile.Profile | None = None,
    server: Any = None,
    replay_from: int | None = None,
) -> tuple[list[float], list[tuple[float, float, int]]]:
    """`runs` sequential App.ask turns (after `warmup`), all in this event loop on one App.

    From turn `replay_from` on, the request each turn sent (read back from `server`) is replayed
    right after it with a bare client in the same loop: (App ms, bare ms, messages) pairs, which
    share whatever the machine was doing at that moment.
    """
    from openclaw.app import App

    app = App(config)
    bare = BareClient(config.providers["fake"]["base_url"]) if replay_from is not None else None
    times: list[float] = []
    pairs: list[tuple[float, float, int]] = []
    with quiet_sinks(app):
        async with app:
            for i in range(warmup):
                await app.ask(QUESTION, session_key=f"bench:main:0:warmup-{i}")
                if bare is not None:
                    await bare.call(request_payload(server.requests[-1]))
            gc.collect()  # start every series with the same heap state
            if profiler is not None:
                profiler.enable()
            for i in range(runs):
                start = time.perf_counter()
                finished = await app.ask(QUESTION, session_key=session(i))
                times.append((time.perf_counter() - start) * 1000)
                assert finished.text == ANSWER, finished.text
                if bare is not None and replay_from is not None and i >= replay_from:
                    payload = request_payload(server.requests[-1])
                    pairs.append((times[-1], await bare.call(payload), len(payload["messages"])))
            if profiler is not None:
                profiler.disable()
    if bare is not None:
        await bare.aclose()
    return times, pairs


def captured_payload(server: Any, config: Any) -> dict[str, Any]:
    """The exact chat.completions arguments App.ask sends, so the bare client sends the same."""
    asyncio.run(app_series(config, warmup=0, runs=1, session=lambda i: "bench:main:0:capture"))
    return request_payload(server.requests[-1])


def paired_summary(pairs: list[tuple[float, float, int]]) -> dict[str, Any]:
    differences = [app_ms - bare_ms for app_ms, bare_ms, _ in pairs]
    return {
        "app": summary([app_ms for app_ms, _, _ in pairs]),
        "bare": summary([bare_ms for _, bare_ms, _ in pairs]),
        "difference": summary(differences),
        "messages": [min(m for _, _, m in pairs), max(m for _, _, m in pairs)],
    }


def bench_turn(runs: int, warmup: int, profile_turns: int, attribute_turns: int) -> dict[str, Any]:
    from openclaw.testing.servers import FakeOpenAIServer

    with (
        tempfile.TemporaryDirectory(prefix="openclaw-bench-") as tmp,
        FakeOpenAIServer(default=reply) as server,
    ):
        home = Path(tmp)
        config = make_config(home, server.base_url)
        payload = captured_payload(server, config)
        decile = max(1, runs // 10)

        step(f"bare openai client: {warmup} warm-up + {runs} calls")
        bare = asyncio.run(bare_series(server.base_url, payload, warmup, runs))

        step(f"App.ask, fresh session per turn: {warmup} warm-up + {runs} turns")
        fresh, _ = asyncio.run(app_series(config, warmup, runs, lambda i: f"bench:main:0:t{i}"))

        step(f"paired: App.ask then the same request bare, {runs} pairs in one loop")
        _, fresh_pairs = asyncio.run(
            app_series(
                config,
                warmup,
                runs,
                lambda i: f"bench:main:0:pair{i}",
                server=server,
                replay_from=0,
            )
        )

        step(f"App.ask, one growing session: {warmup} warm-up + {runs} turns")
        same, long_pairs = asyncio.run(
            app_series(
                config,
                warmup,
                runs,
                lambda i: "bench:main:0:same",
                server=server,
                replay_from=runs - decile,
            )
        )

        attribution: dict[str, float] = {}
        if attribute_turns:
            step(f"attributing {attribute_turns} App.ask turns to kernel functions")
            totals: dict[str, float] = {}
            with attributed(totals):
                timed, _ = asyncio.run(
                    app_series(config, 10, attribute_turns, lambda i: f"bench:main:0:a{i}")
                )
            attribution = {
                "turn_median_ms": round(statistics.median(timed), 3),
                **{
                    label: round(seconds * 1000 / attribute_turns, 3)
                    for label, seconds in sorted(totals.items(), key=lambda item: -item[1])
                },
            }

        profile_text = ""
        if profile_turns:
            step(f"profiling {profile_turns} App.ask turns")
            profiler = cProfile.Profile()
            asyncio.run(
                app_series(
                    config, 10, profile_turns, lambda i: f"bench:main:0:p{i}", profiler=profiler
                )
            )
            profile_text = profile_report(profiler, profile_turns)

        result = {
            "answer_chunks": CHUNKS,
            "request_messages": len(payload["messages"]),
            "request_tools": len(payload.get("tools") or []),
            "bare_openai": summary(bare),
            "app_ask_fresh_session": summary(fresh),
            "overhead_fresh_session_ms": {
                "median": round(statistics.median(fresh) - statistics.median(bare), 3),
                "p90": round(summary(fresh)["p90_ms"] - summary(bare)["p90_ms"], 3),
            },
            "paired_fresh_session": paired_summary(fresh_pairs),
            "app_ask_same_session": summary(same),
            "app_ask_same_session_first_decile": summary(same[:decile]),
            "app_ask_same_session_last_decile": summary(same[-decile:]),
            "paired_same_session_last_decile": paired_summary(long_pairs),
            "server_requests": len(server.requests),
        }
        if attribution:
            result["attribution_ms_per_turn"] = attribution
        return {**result, "profile": profile_text}


ATTRIBUTED = (
    ("openclaw.store", "SqliteStore", "append", False),
    ("openclaw.store", "SqliteStore", "append_round", False),
    ("openclaw.store", "SqliteStore", "history", False),
    ("openclaw.store", "SqliteStore", "session", False),
    ("openclaw.agent.turn", "Agent", "system_prompt", False),
    ("openclaw.agent.turn", "Agent", "tools_for", False),
    ("openclaw.agent.turn", None, "select_history", False),
    ("openclaw.events", "EventBus", "emit", True),
    ("openclaw.default_plugins.openai_provider", None, "chat_arguments", False),
)
"""Kernel functions timed by `--attribute`: (module, class or None, function, is async)."""


@contextlib.contextmanager
def attributed(totals: dict[str, float]) -> Iterator[None]:
    """Wrap the ATTRIBUTED functions with timers adding to `totals` (seconds), then restore them.
    A name that no longer exists is skipped, so a refactor does not break the benchmark."""
    import importlib

    restore: list[tuple[Any, str, Any]] = []

    def timer(label: str, func: Any, is_async: bool) -> Any:
        if is_async:

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return await func(*args, **kwargs)
                finally:
                    totals[label] = totals.get(label, 0.0) + time.perf_counter() - start

            return timed_async

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                totals[label] = totals.get(label, 0.0) + time.perf_counter() - start

        return timed

    for module_name, class_name, name, is_async in ATTRIBUTED:
        owner: Any = importlib.import_module(module_name)
        if class_name is not None:
            owner = getattr(owner, class_name, None)
        func = getattr(owner, name, None)
        if func is None:
            continue
        label = f"{class_name or module_name.rsplit('.', 1)[-1]}.{name}"
        restore.append((owner, name, func))
        setattr(owner, name, timer(label, func, is_async))
    try:
        yield
    finally:
        for owner, name, func in restore:
            setattr(owner, name, func)


def profile_report(profiler: cProfile.Profile, turns: int, top: int = 12) -> str:
    """Top functions by own time, overall and kernel-only, per turn."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    rows = []
    for (filename, line, func), (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((tottime, cumtime, calls, filename, line, func))

    def where(filename: str, line: int) -> str:
        marker = f"{os.sep}site-packages{os.sep}"
        if marker in filename:
            filename = filename.split(marker, 1)[1]
        elif str(REPO) in filename:
            filename = os.path.relpath(filename, REPO)
        return f"{filename}:{line}"

    def section(title: str, chosen: list[tuple[Any, ...]], key: int, top: int = top) -> None:
        out.write(f"{title}\n   ms/turn   calls/turn  function\n")
        for row in sorted(chosen, key=lambda r: -r[key])[:top]:
            tottime, cumtime, calls, filename, line, func = row
            ms = (tottime if key == 0 else cumtime) * 1000 / turns
            out.write(f"  {ms:8.3f}  {calls / turns:11.1f}  {func} ({where(filename, line)})\n")

    kernel = [r for r in rows if f"{os.sep}openclaw{os.sep}" in r[3]]
    section("top functions by own time, everything (profiler on):", rows, 0)
    section("top openclaw functions by own time:", kernel, 0)
    section("top openclaw functions by cumulative time:", kernel, 1, top=20)
    return out.getvalue()


# --- main --------------------------------------------------------------------------------------


def versions() -> dict[str, Any]:
    from importlib.metadata import version

    found = {}
    for dist in ("openclaw-kernel", "openai", "aiohttp", "pydantic", "pluggy", "sqlite-utils"):
        with contextlib.suppress(Exception):
            found[dist] = version(dist)
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "git": rev + ("+dirty" if dirty else ""),
        "packages": found,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    parser.add_argument(
        "--profile",
        nargs="?",
        type=int,
        const=100,
        default=0,
        metavar="TURNS",
        help="also profile TURNS App.ask turns with cProfile (default 100) and print the top costs",
    )
    parser.add_argument(
        "--attribute",
        nargs="?",
        type=int,
        const=300,
        default=0,
        metavar="TURNS",
        help="also time TURNS App.ask turns with timers around kernel functions (default 300)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args()
    cold_runs, turns, warmup = (5, 40, 5) if args.quick else (20, 200, 20)

    started = time.perf_counter()
    step(f"cold start: {cold_runs} interleaved runs of each command")
    cold = bench_cold_start(cold_runs)
    turn = bench_turn(turns, warmup, args.profile, args.attribute)
    profile_text = turn.pop("profile")

    walls = cold["wall"]
    label = {
        "python_pass": "cold: python -c pass (interpreter baseline)",
        "help_direct": "cold: openclaw --help (console script)",
        "help_path": "cold: openclaw --help (via PATH: shim)",
        "app_build": "cold: python -c 'App(Config())' (wall)",
        "app_build_no_bytecode": "cold: same, no .pyc cache (PYTHONDONTWRITEBYTECODE=1)",
    }
    long_pairs = turn["paired_same_session_last_decile"]
    low, high = long_pairs["messages"]
    messages = f"{low}-{high}" if low != high else str(low)
    rows: list[tuple[str, Any]] = [
        (label[name], walls[name]) for name in walls if name != "app_build_no_bytecode"
    ]
    rows += [
        ("  in-process: import openclaw.app", cold["app_import"]),
        ("  in-process: App(Config())", cold["app_build"]),
        (label["app_build_no_bytecode"], walls["app_build_no_bytecode"]),
        ("  in-process: import openclaw.app", cold["app_import_no_bytecode"]),
        ("  in-process: App(Config())", cold["app_build_no_bytecode"]),
        ("turn: bare openai.AsyncOpenAI stream", turn["bare_openai"]),
        ("turn: App.ask, fresh session/turn", turn["app_ask_fresh_session"]),
        ("  paired in one loop: App.ask", turn["paired_fresh_session"]["app"]),
        ("  paired in one loop: bare, same request", turn["paired_fresh_session"]["bare"]),
        ("  paired: App.ask - bare (per pair)", turn["paired_fresh_session"]["difference"]),
        ("turn: App.ask, one growing session", turn["app_ask_same_session"]),
        ("  growing session: first 10% of turns", turn["app_ask_same_session_first_decile"]),
        ("  growing session: last 10% of turns", turn["app_ask_same_session_last_decile"]),
        (f"  last 10%: bare, same {messages}-msg request", long_pairs["bare"]),
        ("  last 10%: App.ask - bare (per pair)", long_pairs["difference"]),
    ]
    print()
    print_table(rows)
    overhead = turn["overhead_fresh_session_ms"]
    print(
        f"kernel overhead per turn, fresh session (App.ask series - bare series): "
        f"median {overhead['median']:.2f} ms, p90 {overhead['p90']:.2f} ms; "
        f"paired: median {turn['paired_fresh_session']['difference']['median_ms']:.2f} ms, "
        f"p90 {turn['paired_fresh_session']['difference']['p90_ms']:.2f} ms"
    )
    print(
        f"kernel overhead per turn with a {messages}-message history (paired): "
        f"median {long_pairs['difference']['median_ms']:.2f} ms"
    )
    kernel_cost = cold["kernel_cost_over_interpreter_ms"]
    print(
        "cold-start cost over the interpreter baseline (medians): "
        + ", ".join(f"{name} +{ms:.0f} ms" for name, ms in kernel_cost.items())
    )
    heavy = cold["heavy_modules_after_app"]
    verdict = "PRESENT: " + ", ".join(heavy) if heavy else "none - ok"
    print(
        f"after App(Config()): {cold['modules_after_app']} modules; watched present: "
        f"{', '.join(cold['watched_modules_after_app']) or 'none'}; "
        f"heavy ({', '.join(HEAVY)}): {verdict}"
    )
    top_imports = cold["top_imports_by_self_time"][:5]
    print(
        "largest self import times building an App (-X importtime, inflated): "
        + ", ".join(f"{row['module']} {row['self_ms']:.1f} ms" for row in top_imports)
    )
    if "attribution_ms_per_turn" in turn:
        shares = dict(turn["attribution_ms_per_turn"])
        median = shares.pop("turn_median_ms")
        print(f"\nkernel functions, ms per turn (timed turns: median {median:.2f} ms):")
        for label, ms in shares.items():
            print(f"  {ms:7.3f}  {label}")
    if profile_text:
        print()
        print(profile_text, end="")

    results = {
        "meta": {**versions(), "quick": args.quick, "seconds": 0.0},
        "cold_start": cold,
        "turn": turn,
    }
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {os.path.relpath(args.output)} in {results['meta']['seconds']} s")


if __name__ == "__main__":
    main()
