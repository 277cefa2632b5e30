"""The local model on this machine: load time, prompt and generation tokens/s, time to first token, and
`oratio demo` end to end with the local model against the scripted one (which costs nothing).

Per installed packaged model (or `--path` for any GGUF):

* files    - assembling and verifying the GGUF from its parts (first run), or checking the stamp (later);
* load     - llama.cpp reading the weights (once per process);
* prompt   - prompt evaluation, tokens/s, over a fresh ~600-token prompt (the KV cache reset first);
* generate - sampling, tokens/s after the first token, greedy, 128 tokens;
* ttft     - time to the first text delta through the Strands provider, for the model's part of an
  agent turn (the SOP as system prompt, the runtime's tools, a refund passage the search returned):
  cold (KV cache reset) and warm (the same prefix again: llama.cpp reuses it).

Then `oratio demo` in a fresh process and data dir, scripted vs local, wall time and ratio. Figures
only; nothing is asserted. Other processes on the machine make every figure slower.

    .venv/bin/python -m bench.local_llm                                   # every model, then the demo
    .venv/bin/python -m bench.local_llm --model qwen2.5-coder-0.5b-instruct --no-demo
    .venv/bin/python -m bench.local_llm --path /models/other.gguf --no-demo
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from oratio.models.gguf_files import PACKAGED, ModelFiles, default_cache_dir, parts_installed
from oratio.models.local_gguf import LocalGgufModel, llama_cpp_module

ROOT = Path(__file__).resolve().parent.parent
SOP = (ROOT / "examples" / "acme_support" / "sop.md").read_text()
KNOWLEDGE = (ROOT / "examples" / "acme_support" / "knowledge" / "refund_policy.md").read_text()
TOOLS: list[Any] = [
    {
        "name": "knowledge_search",
        "description": "Search the organisation's knowledge base for passages about the customer's question.",
        "inputSchema": {"json": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}},
    },
    {
        "name": "request_handoff",
        "description": "Hand the conversation over to a human member of staff.",
        "inputSchema": {"json": {"type": "object", "properties": {"reason": {"type": "string"}}}},
    },
]


def _seconds(start: float) -> float:
    return time.perf_counter() - start


def measure(path: Path, label: str, threads: int | None) -> None:
    model = LocalGgufModel(path, n_ctx=4096, temperature=0.0, max_tokens=128, threads=threads)
    print(f"\n== {label}  ({path.stat().st_size / 1e9:.2f} GB, {model.get_config()['threads']} threads)")
    start = time.perf_counter()
    loaded = model.loaded()
    print(f"   load              {_seconds(start):7.2f} s")
    llama = loaded.llama

    prompt = f"Summarise this procedure and policy.\n\n{SOP}\n\n{KNOWLEDGE}"
    tokens = llama.tokenize(prompt.encode(), add_bos=True, special=False)
    llama.reset()
    start = time.perf_counter()
    with loaded.lock:
        llama.create_completion(prompt=tokens, max_tokens=1, temperature=0.0)
    elapsed = _seconds(start)
    print(f"   prompt eval       {len(tokens) / elapsed:7.1f} tokens/s  ({len(tokens)} tokens in {elapsed:.2f} s)")

    llama.reset()
    short = llama.tokenize(b"Write a short story about a router that stopped working.", add_bos=True, special=False)
    start = time.perf_counter()
    first: float | None = None
    count = 0
    with loaded.lock:
        for chunk in llama.create_completion(prompt=short, max_tokens=128, temperature=0.0, stream=True):
            if chunk["choices"][0]["text"]:
                count += 1
                first = first or time.perf_counter()
    end = time.perf_counter()
    if first is not None and count > 1:
        print(f"   generation        {(count - 1) / (end - first):7.1f} tokens/s  ({count} tokens)")

    for run in ("cold", "warm"):
        if run == "cold":
            llama.reset()
        ttft, total = asyncio.run(_turn(model))
        shown = f"{ttft:7.2f} s" if ttft is not None else "    (a tool call, no text)"
        print(f"   ttft agent turn   {shown}  {run} (whole reply {total:.2f} s)")


async def _turn(model: LocalGgufModel) -> tuple[float | None, float]:
    """The model's part of a turn: answering once the search (run in code) has returned its passage."""
    system = f"You are the Acme Home Internet support agent. Follow this SOP.\n\n{SOP}"
    question = "Hi! How long do I have to ask for a refund?"
    result = {"toolUseId": "s1", "status": "success", "content": [{"text": KNOWLEDGE}]}
    messages: Any = [
        {"role": "user", "content": [{"text": question}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "s1", "name": "knowledge_search", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": result}]},
    ]
    start = time.perf_counter()
    first: float | None = None
    async for event in model.stream(messages, tool_specs=TOOLS, system_prompt=system):
        if first is None and "text" in event.get("contentBlockDelta", {}).get("delta", {}):
            first = time.perf_counter()
    end = time.perf_counter()
    return (None if first is None else first - start), end - start


def demo(spec: str, timeout: float) -> float | None:
    with tempfile.TemporaryDirectory(prefix="oratio-bench-demo-") as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORATIO_")}
        env |= {"ORATIO_DATA_DIR": data, "ORATIO_MODEL": spec}
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "oratio_app", "demo"],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            print(f"   demo {spec}: no result within {timeout:g} s")
            return None
        elapsed = _seconds(start)
    print(f"   demo {spec:<40} {elapsed:8.1f} s  exit {done.returncode}")
    for line in (done.stdout + done.stderr).splitlines():
        if any(mark in line for mark in ("customer:", "agent:", "passed", "could not", "sources:", "handed off")):
            print(f"      {line.strip()[:150]}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", choices=sorted(PACKAGED), help="packaged model(s); default all")
    parser.add_argument("--path", type=Path, help="any other GGUF file")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-demo", action="store_true", help="skip the end-to-end demo comparison")
    parser.add_argument("--demo-timeout", type=float, default=3600.0)
    args = parser.parse_args(argv)
    llama_cpp = llama_cpp_module()
    print(f"llama-cpp-python {llama_cpp.__version__}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")

    files = ModelFiles(default_cache_dir())
    targets: list[tuple[str, Path, str]] = []
    if args.path is not None:
        targets.append((str(args.path), args.path, f"local:{args.path}"))
    for name in args.model or ([] if args.path else list(PACKAGED)):
        packaged = PACKAGED[name]
        if not parts_installed(packaged):
            print(f"{name}: not installed (pip install 'oratio[{packaged.extra}]')")
            continue
        start = time.perf_counter()
        path = files.path(packaged)
        print(f"{name}: files ready in {_seconds(start):.1f} s at {path}")
        targets.append((packaged.title, path, f"local:{name}"))
    for label, path, _ in targets:
        measure(path, label, args.threads)
    if args.no_demo or not targets:
        return 0
    print("\n== oratio demo end to end (fresh process and data dir: create the agent, two customer turns)")
    base = demo("scripted", args.demo_timeout)
    for _, _, spec in targets:
        took = demo(spec, args.demo_timeout)
        if base and took:
            print(f"   ratio {spec} / scripted: {took / base:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
