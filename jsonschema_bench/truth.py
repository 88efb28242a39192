"""Ground truth: the ``jsonschema`` validator of the schema's draft with the format checker on."""

from __future__ import annotations

from typing import Any, Callable

import jsonschema


def validator_for(schema: Any) -> Callable[[Any], bool | None]:
    """Return ``check(instance) -> True | False | None`` for ``schema``.

    The draft comes from ``$schema`` (default 2020-12) and formats are asserted. ``None`` means
    the validator itself could not decide (invalid schema, unresolvable ``$ref``, runaway
    recursion, ...); callers record such instances as "truth unavailable".
    """
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
        validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    except Exception:  # any failure to build the validator leaves the truth undecided
        return lambda instance: None

    def check(instance: Any) -> bool | None:
        try:
            return bool(validator.is_valid(instance))
        except Exception:  # unresolvable $ref, recursion, bad regex in the schema, ...
            return None

    return check
