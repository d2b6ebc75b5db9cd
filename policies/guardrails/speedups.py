"""Convert each resource once per request instead of once per policy.

pulumi_policy converts a resource (`MessageToDict`, `deserialize_properties`, the unknown-checking proxy, its
options and provider) inside its per-policy loop: ~90 policies times every resource in Analyze, and every stack
policy times every resource in AnalyzeStack, which makes a 1,800-resource stack spend seconds converting the
same messages. Each conversion is pure, so this memoises it by the identity of its input (holding a reference,
so an id is never reused while cached). Rules never mutate what they get (pulumi_policy hands them read-only
proxies). `install()` is called by policies/__main__.py only; nothing is patched on import.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

CACHE_SIZE = 8192


class _Memo:
    def __init__(self, function: Any) -> None:
        self._function = function
        self._cache: OrderedDict[int, tuple[Any, Any]] = OrderedDict()

    def __call__(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return self._function(value, *args, **kwargs)
        key = id(value)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is value:
            return hit[1]
        result = self._function(value)
        self._cache[key] = (value, result)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return result


class _JsonFormat:
    """Stands in for `google.protobuf.json_format` inside pulumi_policy only."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.MessageToDict = _Memo(real.MessageToDict)  # noqa: N815 (the protobuf API's name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _memo_method(method: Any) -> Any:
    cache: OrderedDict[int, tuple[Any, Any]] = OrderedDict()

    def wrapper(self: Any, request: Any) -> Any:
        key = id(request)
        hit = cache.get(key)
        if hit is not None and hit[0] is request:
            return hit[1]
        result = method(self, request)
        cache[key] = (request, result)
        if len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
        return result

    return wrapper


def install() -> None:
    import pulumi_policy.policy as policy_module

    if isinstance(policy_module.json_format, _JsonFormat):
        return
    policy_module.json_format = _JsonFormat(policy_module.json_format)
    policy_module.deserialize_properties = _Memo(policy_module.deserialize_properties)
    policy_module.unknown_checking_proxy = _Memo(policy_module.unknown_checking_proxy)
    servicer = policy_module._PolicyAnalyzerServicer
    servicer._get_resource_options = _memo_method(servicer._get_resource_options)
    servicer._get_provider_resource = _memo_method(servicer._get_provider_resource)
