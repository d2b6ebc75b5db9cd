"""Convert each resource once per request instead of once per policy.

pulumi_policy converts a resource (`MessageToDict`, `deserialize_properties`, the unknown-checking proxy, its
options and provider) inside its per-policy loop: ~90 policies times every resource in Analyze, and every stack
policy times every resource in AnalyzeStack, which makes a 1,800-resource stack spend seconds converting the
same messages. Each conversion is pure, so this memoises it by the identity of its input (holding a reference,
so an id is never reused while cached). Rules never mutate what they get (pulumi_policy hands them read-only
proxies). `install()` is called by policies/__main__.py only; nothing is patched on import.
"""

from __future__ import annotations

import asyncio
import functools
import threading
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
    memos: dict[int, _Memo] = {}

    def wrapper(self: Any, request: Any) -> Any:
        memo = memos.get(id(self))
        if memo is None:
            memo = memos[id(self)] = _Memo(functools.partial(method, self))
        return memo(request)

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
    servicer.Analyze = _analyze_only_applicable(servicer.Analyze)
    servicer.AnalyzeStack = _analyze_stack_building_resources_once(policy_module)


def _analyze_only_applicable(analyze: Any) -> Any:
    """Analyze with only the policies that apply to the request's resource type.

    A rule's validate returns at once for other types, but pulumi_policy converts the resource for every policy
    before calling it. Policies that do not declare `rampart_resource_types` (the ledger, anything not built by
    guardrails.adapter) always run. Requests arrive one at a time from the engine; the lock keeps a concurrent
    caller from seeing another request's list.
    """
    lock = threading.Lock()
    by_type: dict[str, list[Any]] = {}

    def wrapper(self: Any, request: Any, context: Any) -> Any:
        with lock:
            every = self._PolicyAnalyzerServicer__policies
            applicable = by_type.get(request.type)
            if applicable is None:
                applicable = [
                    p for p in every
                    if getattr(p, "rampart_resource_types", None) is None or request.type in p.rampart_resource_types
                ]
                by_type[request.type] = applicable
            self._PolicyAnalyzerServicer__policies = applicable
            try:
                return analyze(self, request, context)
            finally:
                self._PolicyAnalyzerServicer__policies = every

    return wrapper


def _analyze_stack_building_resources_once(pp: Any) -> Any:
    """pulumi_policy's AnalyzeStack, with the stack's resources (and their parent and dependency links) built once
    per request instead of once per stack policy. Everything else is as in pulumi_policy 1.x: enforcement,
    per-policy config, unknown values reported as "can't run policy ... during preview", not-applicable."""

    def build(servicer: Any, request: Any) -> list[Any]:
        by_urn: dict[str, Any] = {}
        links = []
        for r in request.resources:
            props = pp.unknown_checking_proxy(pp.deserialize_properties(pp.json_format.MessageToDict(r.properties)))
            resource = pp.PolicyResource(r.type, props, r.urn, r.name, servicer._get_resource_options(r),
                                         servicer._get_provider_resource(r), None, [], {})
            by_urn[resource.urn] = resource
            links.append((resource, r.parent, list(r.dependencies),
                          {k: list(v.urns) for k, v in r.propertyDependencies.items()}))
        for resource, parent, dependencies, property_dependencies in links:
            if parent and parent in by_urn:
                resource.parent = by_urn[parent]
            resource.dependencies.extend(by_urn[d] for d in dependencies if d in by_urn)
            for key, urns in property_dependencies.items():
                resource.property_dependencies[key] = [by_urn[d] for d in urns if d in by_urn]
        return [resource for resource, *_ in links]

    def analyze_stack(self: Any, request: Any, _context: Any) -> Any:
        self._configure_runtime_settings()
        response = pp.proto.AnalyzeResponse()
        resources: list[Any] | None = None
        for policy in self._PolicyAnalyzerServicer__policies:
            level = self._get_enforcement_level(policy)
            if level == pp.EnforcementLevel.DISABLED or not isinstance(policy, pp.StackValidationPolicy):
                continue
            if level == pp.EnforcementLevel.REMEDIATE:
                level = pp.EnforcementLevel.MANDATORY
            report = self._create_report_violation(response, policy.name, policy.description, level, policy.severity)
            if resources is None:
                resources = build(self, request)
            args = pp.StackValidationArgs(list(resources), self._get_policy_config(policy.name),
                                          self._PolicyAnalyzerServicer__stack_tags)
            try:
                result = policy.validate(args, report)
                if pp.isawaitable(result):
                    loop = asyncio.new_event_loop()
                    loop.run_until_complete(asyncio.Task(result, loop=loop))
                    loop.close()
            except pp.UnknownValueError as error:
                name = self._PolicyAnalyzerServicer__policy_pack_name
                version = self._PolicyAnalyzerServicer__policy_pack_version
                response.diagnostics.append(pp.proto.AnalyzeDiagnostic(
                    policyName=policy.name,
                    policyPackName=name,
                    policyPackVersion=version,
                    message=f"can't run policy '{policy.name}' from policy pack '{name}@v{version}' during preview: "
                            f"{error.message}",
                    urn="",
                    description=policy.description,
                    enforcementLevel=self._map_enforcement_level(pp.EnforcementLevel.ADVISORY),
                ))
            except pp._NotApplicableError as error:
                response.not_applicable.append(pp.proto.PolicyNotApplicable(policy_name=policy.name,
                                                                            reason=error.reason or ""))
        return response

    return analyze_stack
