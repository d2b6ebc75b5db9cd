"""A cheaper equivalent of a check the Pulumi SDK makes for every property while its generated classes are built.

`pulumi.getter` and `pulumi.input_type` ask `pulumi._utils.is_empty_function` of each getter and setter (52k
of them in this project's SDK modules) whether its body is empty, and it builds a tuple of the function's
constants before comparing its bytecode with that of four empty forms. A generated getter's bytecode (`return
pulumi.get(self, "name")`) matches none of them, so comparing the bytecode first answers almost every call without
the tuple: about a sixth of the preload's class-building CPU. When the bytecode does match one of the four, the
SDK's own function decides, so the answer is the SDK's in every case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi._utils as pulumi_utils

_EMPTY_FORMS = ("_empty", "_empty_doc", "_empty_lambda", "_empty_lambda_doc")


def _bytecode_first(is_empty_function: Callable[[Any], bool], empty_bytecodes: frozenset[bytes],
                    ) -> Callable[[Any], bool]:
    def quick_is_empty_function(fn: Any) -> bool:
        if fn.__code__.co_code not in empty_bytecodes:
            return False  # none of the SDK's four comparisons can hold
        return is_empty_function(fn)

    quick_is_empty_function.__wrapped__ = is_empty_function  # type: ignore[attr-defined]
    return quick_is_empty_function


def install() -> bool:
    """Replace the SDK's check for the rest of this process (the worker: its preload, then every stack it forks).
    Returns False, changing nothing, on an SDK without the function or its four empty forms."""
    original = getattr(pulumi_utils, "is_empty_function", None)
    forms = [getattr(pulumi_utils, name, None) for name in _EMPTY_FORMS]
    if original is None or getattr(original, "__wrapped__", None) is not None or not all(map(callable, forms)):
        return False
    pulumi_utils.is_empty_function = _bytecode_first(original, frozenset(f.__code__.co_code for f in forms))
    return True
