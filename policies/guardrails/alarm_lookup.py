"""A stack's CloudWatch alarms by the names deployment groups refer to them by, read once per stack.

`guardrails.alarms.resolve_group_alarms` used to scan every alarm of the stack for every name of every group
(and every composite alarm for every name): quadratic in the number of services. This answers the same questions
from dictionaries, in the same (stack) order.

Built only where it answers exactly as the scan does: if reading any alarm's name raises (an unknown value), or a
name is neither a string nor empty (the scan compares it, and may fail to hash it), `of` returns None and the
caller scans as before, so what the scan would have raised or found is what the rule sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from guardrails.rule import Resource


class AlarmLookup:
    def __init__(self, metric_alarms: Sequence[Resource], composites: Sequence[Resource]) -> None:
        self._position = {id(a): i for i, a in enumerate(metric_alarms)}
        if len(self._position) != len(metric_alarms):
            raise ValueError("the same alarm twice: stack order is no longer one position per alarm")
        self._named: dict[str, list[Resource]] = {}
        self._unnamed_by_logical: dict[str, list[Resource]] = {}
        self._unnamed_by_urn: dict[str, list[Resource]] = {}
        for alarm in metric_alarms:
            name = alarm.get("name")
            if not name:
                self._unnamed_by_logical.setdefault(alarm.name, []).append(alarm)
                self._unnamed_by_urn.setdefault(alarm.urn, []).append(alarm)
            elif isinstance(name, str):
                self._named.setdefault(name, []).append(alarm)
            else:
                raise TypeError("an alarm name that is not a string")
        self._composites: dict[str, Resource] = {}
        for composite in composites:
            name = composite.get("alarmName")
            if isinstance(name, str):
                self._composites.setdefault(name, composite)

    @classmethod
    def of(cls, metric_alarms: Sequence[Resource], composites: Sequence[Resource]) -> AlarmLookup | None:
        try:
            return cls(metric_alarms, composites)
        except Exception:  # noqa: BLE001 (any failure: the caller's scan meets it where it always did)
            return None

    def composite(self, name: str) -> Resource | None:
        """The first CompositeAlarm whose alarmName is `name`."""
        return self._composites.get(name)

    def named(self, name: str) -> Resource | None:
        """The first MetricAlarm whose `name` input is `name`."""
        found = self._named.get(name)
        return found[0] if found else None

    def all_named(self, names: Iterable[str]) -> list[Resource]:
        """Every MetricAlarm whose `name` input is one of `names`, in stack order."""
        found = [a for name in set(names) for a in self._named.get(name, ())]
        return sorted(found, key=lambda a: self._position[id(a)])

    def unnamed_called(self, logical_name: str) -> list[Resource]:
        """The MetricAlarms without a `name` input whose logical name is `logical_name`, in stack order."""
        return self._unnamed_by_logical.get(logical_name, [])

    def unnamed_among(self, urns: Iterable[str]) -> list[Resource]:
        """The MetricAlarms without a `name` input whose URN is one of `urns`, in stack order."""
        found = [a for urn in set(urns) for a in self._unnamed_by_urn.get(urn, ())]
        return sorted(found, key=lambda a: self._position[id(a)])
