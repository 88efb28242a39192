"""``make demo``: schema-constrained JSON from the embedded SmolLM2-135M-Instruct.

Generates one JSON document for an example schema with :func:`grammar_decode.api.generate_json`
(which validates it with ``jsonschema`` before returning) and prints it.
"""

from __future__ import annotations

import json
import sys
import time

EXAMPLE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Book",
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 60},
        "author": {"type": "string", "minLength": 1, "maxLength": 40},
        "year": {"type": "integer", "minimum": 1450, "maximum": 2025},
        "genres": {"type": "array", "items": {"enum": ["fiction", "science", "history",
                                                        "poetry", "children"]},
                   "minItems": 1, "maxItems": 3},
        "available": {"type": "boolean"},
    },
    "required": ["title", "author", "year", "genres", "available"],
    "additionalProperties": False,
}
EXAMPLE_PROMPT = "Describe a well-known novel as a catalogue record."


def main() -> int:
    """Run the demo; returns the exit code."""
    import torch

    from grammar_decode.api import generate_json, resolve_model
    from grammar_decode.cli import quiet_progress_bars

    torch.set_num_threads(1)
    quiet_progress_bars()
    started = time.perf_counter()
    model = resolve_model(None)
    loaded = time.perf_counter()
    value = generate_json(EXAMPLE_SCHEMA, EXAMPLE_PROMPT, model=model, max_new_tokens=200)
    done = time.perf_counter()
    print("schema:", json.dumps(EXAMPLE_SCHEMA))
    print("prompt:", EXAMPLE_PROMPT)
    print("output (valid against the schema):")
    print(json.dumps(value, indent=2, ensure_ascii=False))
    print(f"model load {loaded - started:.1f} s, compile + generation {done - loaded:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
