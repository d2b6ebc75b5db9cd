"""pulumi_policy's Analyze and AnalyzeStack, doing each request's conversion work once instead of once per policy.

pulumi_policy 1.x converts a resource (`MessageToDict`, `deserialize_properties`, the unknown-checking proxy, its
options and provider) inside its per-policy loop: ~90 policies times every resource in Analyze, and every stack
policy times every resource in AnalyzeStack. It also re-reads the runtime settings from the environment (an
`inspect.signature` and a new `pulumi.runtime.Settings`) on every call. Here:

- Each resource's properties are converted once (guardrails.conversion), shared by every policy and by Analyze and
  AnalyzeStack, which both receive every resource, behind a faster unknown-checking proxy (guardrails.fast_proxy).
- Analyze converts the resource on the first policy that needs it, and runs only the resource policies that apply
  to the resource's type (`rampart_resource_types`, set by guardrails.adapter; a rule's validate returns at once for
  other types). Policies without it (the waiver ledger) always run.
- AnalyzeStack builds the stack's resources (and their parent and dependency links) once for every stack policy.
- The runtime settings are configured again only when the environment they are read from changed.

Everything else is as in pulumi_policy 1.x: enforcement (disabled skipped, remediate reported as mandatory),
per-policy config, unknown values reported as "can't run policy ... during preview", not-applicable. Rules never
mutate what they get (pulumi_policy hands them read-only proxies), so sharing one conversion is safe.
`install()` is called by policies/__main__.py only; nothing is patched on import. tests/policies/test_speedups.py
pins that the responses equal pulumi_policy's own.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from guardrails.conversion import Conversions, struct_to_dict
from guardrails.fast_proxy import unknown_checking_proxy

_RUNTIME_ENVIRONMENT = ("PULUMI_CONFIG", "PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN", "PULUMI_ORGANIZATION",
                        "PULUMI_ENABLE_LEGACY_APPLY")
"""Everything pulumi_policy's `_configure_runtime_settings` (and the Settings it builds) reads."""


def fast_methods(pp: Any) -> dict[str, Any]:
    """The replacement servicer methods, given the `pulumi_policy.policy` module."""
    convert = Conversions(lambda message: unknown_checking_proxy(pp.deserialize_properties(struct_to_dict(message))))
    return {
        "Analyze": _analyze_converting_once(pp, convert),
        "AnalyzeStack": _analyze_stack_building_resources_once(pp, convert),
        "_configure_runtime_settings": _configure_once_per_environment(
            pp._PolicyAnalyzerServicer._configure_runtime_settings),
    }


def install() -> None:
    import pulumi_policy.policy as policy_module

    servicer = policy_module._PolicyAnalyzerServicer
    if getattr(servicer, "_rampart_speedups", False):
        return
    for name, method in fast_methods(policy_module).items():
        setattr(servicer, name, method)
    servicer._rampart_speedups = True


def _configure_once_per_environment(configure: Any) -> Any:
    last: dict[int, tuple[str | None, ...]] = {}

    def wrapper(self: Any) -> None:
        key = tuple(os.environ.get(name) for name in _RUNTIME_ENVIRONMENT)
        if last.get(id(self)) != key:
            configure(self)
            last[id(self)] = key

    return wrapper


def _run(pp: Any, servicer: Any, response: Any, policy: Any, args: Any, report: Any) -> None:
    """One policy's validate, with pulumi_policy's handling of unknown values and not-applicable."""
    try:
        result = policy.validate(args, report)
        if pp.isawaitable(result):
            loop = asyncio.new_event_loop()
            loop.run_until_complete(asyncio.Task(result, loop=loop))
            loop.close()
    except pp.UnknownValueError as error:
        name = servicer._PolicyAnalyzerServicer__policy_pack_name
        version = servicer._PolicyAnalyzerServicer__policy_pack_version
        response.diagnostics.append(pp.proto.AnalyzeDiagnostic(
            policyName=policy.name,
            policyPackName=name,
            policyPackVersion=version,
            message=f"can't run policy '{policy.name}' from policy pack '{name}@v{version}' during preview: "
                    f"{error.message}",
            urn="",
            description=policy.description,
            enforcementLevel=servicer._map_enforcement_level(pp.EnforcementLevel.ADVISORY),
        ))
    except pp._NotApplicableError as error:
        response.not_applicable.append(pp.proto.PolicyNotApplicable(policy_name=policy.name,
                                                                    reason=error.reason or ""))


def _analyze_converting_once(pp: Any, convert: Conversions) -> Any:
    """Requests arrive several at a time (the engine pipelines them); the lock answers them one at a time, which
    also keeps each request's waived findings apart in guardrails.adapter's ledger."""
    lock = threading.Lock()
    by_type: dict[tuple[int, str], list[Any]] = {}

    def applicable(servicer: Any, resource_type: str) -> list[Any]:
        every = servicer._PolicyAnalyzerServicer__policies
        key = (id(every), resource_type)
        found = by_type.get(key)
        if found is None or found[0] is not every:
            found = by_type[key] = [every, [
                p for p in every
                if isinstance(p, pp.ResourceValidationPolicy) and (
                    getattr(p, "rampart_resource_types", None) is None or resource_type in p.rampart_resource_types)
            ]]
        return found[1]

    def analyze(self: Any, request: Any, _context: Any) -> Any:
        with lock:
            self._configure_runtime_settings()
            response = pp.proto.AnalyzeResponse()
            converted = None
            for policy in applicable(self, request.type):
                level = self._get_enforcement_level(policy)
                if level == pp.EnforcementLevel.DISABLED or not isinstance(policy, pp.ResourceValidationPolicy):
                    continue
                if not policy.has_validation():
                    response.not_applicable.append(pp.proto.PolicyNotApplicable(
                        policy_name=policy.name, reason="Policy does not implement validate"))
                    continue
                if level == pp.EnforcementLevel.REMEDIATE:
                    level = pp.EnforcementLevel.MANDATORY
                report = self._create_report_violation(response, policy.name, policy.description, level,
                                                       policy.severity)
                if converted is None:
                    converted = (convert(request.properties), self._get_resource_options(request),
                                 self._get_provider_resource(request))
                props, opts, provider = converted
                args = pp.ResourceValidationArgs(request.type, props, request.urn, request.name, opts, provider,
                                                 self._get_policy_config(policy.name),
                                                 self._PolicyAnalyzerServicer__stack_tags)
                _run(pp, self, response, policy, args, report)
            return response

    return analyze


def _analyze_stack_building_resources_once(pp: Any, convert: Conversions) -> Any:
    def build(servicer: Any, request: Any) -> list[Any]:
        # pulumi_policy's construction, in two passes over the request instead of one per policy; the links are read
        # from the request's own containers (no intermediate lists) and resolved once every URN is known.
        by_urn: dict[str, Any] = {}
        links = []
        options, provider, policy_resource = servicer._get_resource_options, servicer._get_provider_resource, \
            pp.PolicyResource
        for r in request.resources:
            resource = policy_resource(r.type, convert(r.properties), r.urn, r.name, options(r), provider(r),
                                       None, [], {})
            by_urn[resource.urn] = resource
            links.append((resource, r.parent, r.dependencies, r.propertyDependencies))
        for resource, parent, dependencies, property_dependencies in links:
            if parent and parent in by_urn:
                resource.parent = by_urn[parent]
            if dependencies:
                resource.dependencies.extend([by_urn[d] for d in dependencies if d in by_urn])
            for key, urns in property_dependencies.items():
                resource.property_dependencies[key] = [by_urn[d] for d in urns.urns if d in by_urn]
        return [resource for resource, *_ in links]

    def analyze_stack(self: Any, request: Any, _context: Any) -> Any:
        self._configure_runtime_settings()
        response = pp.proto.AnalyzeResponse()
        resources: tuple[Any, ...] | None = None
        for policy in self._PolicyAnalyzerServicer__policies:
            level = self._get_enforcement_level(policy)
            if level == pp.EnforcementLevel.DISABLED or not isinstance(policy, pp.StackValidationPolicy):
                continue
            if level == pp.EnforcementLevel.REMEDIATE:
                level = pp.EnforcementLevel.MANDATORY
            report = self._create_report_violation(response, policy.name, policy.description, level, policy.severity)
            if resources is None:
                resources = tuple(build(self, request))
            # One tuple for every policy (pulumi_policy builds a list per policy): it cannot change, so the adapter
            # knows by its identity alone that the stack is already converted (guardrails.adapter._stack_resources).
            args = pp.StackValidationArgs(resources, self._get_policy_config(policy.name),
                                          self._PolicyAnalyzerServicer__stack_tags)
            _run(pp, self, response, policy, args, report)
        return response

    return analyze_stack
