"""openclaw's offline model: a GGUF chat model run in-process with llama.cpp (provider `local`)."""
