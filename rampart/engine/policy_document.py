"""`aws.iam.get_policy_document` rendered as the provider renders it.

The document is built by the Terraform provider, not by AWS, so its exact text is the provider's: this module
follows hashicorp/terraform-provider-aws internal/service/iam/policy_document_data_source.go (the read
function: source documents merged first, then the configured statements, then override documents, each merge
replacing a statement of the same Sid in place) and policy_model.go (field order and omitempty of
iamPolicyStatement, set arguments collapsed to a string when single and otherwise sorted in reverse,
principal and condition sets marshalled as Go maps, so with sorted keys, `{"*": ["*"]}` normalised to `"*"`,
condition values kept in order and flattened when single, `&{` turned into `${`, Go's HTML-safe JSON escaping,
MarshalIndent with two spaces). The IAM rules read this text: an empty answer would let `Action "*"` pass.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_VERSION = "2012-10-17"

# iamPolicyStatement's field order: encoding/json writes struct fields in declaration order.
_STATEMENT_ORDER = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                    "Principal", "NotPrincipal", "Condition")


class PolicyDocumentError(ValueError):
    """The provider would refuse these arguments (it fails the data source read)."""


def render(args: Mapping[str, Any]) -> dict[str, str]:
    """Invoke arguments (camelCase, as the engine receives them) -> the provider's `json`, `minifiedJson`, `id`."""
    version = args.get("version") or DEFAULT_VERSION
    merged: dict[str, Any] = {"Version": "", "Id": "", "Statement": []}
    seen_sids: set[str] = set()
    for index, source in enumerate(args.get("sourcePolicyDocuments") or []):
        if source is None:
            continue
        document = _parse(source, f"source document {index}")
        for statement in document["Statement"]:
            sid = statement.get("Sid", "")
            if sid and sid in seen_sids:
                raise PolicyDocumentError(f"duplicate Sid ({sid}) in source_policy_documents")
            seen_sids.add(sid)
        _merge(merged, document)
    own = {"Version": version, "Id": args.get("policyId") or "",
           "Statement": _configured_statements(args.get("statements") or [], version)}
    _merge(merged, own)
    for index, override in enumerate(args.get("overridePolicyDocuments") or []):
        if override is not None:
            _merge(merged, _parse(override, f"override document {index}"))
    document = _document(merged)
    pretty = _go_json(document, indent=2)
    # The data source's id is create.StringHashcode(json): crc32 (IEEE) of the indented text.
    return {"json": pretty, "minifiedJson": _go_json(document, indent=None), "id": str(zlib.crc32(pretty.encode()))}


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    """iamPolicyDoc.Merge: adopt a non-empty Id, upgrade Version, replace statements by Sid or append."""
    if new.get("Id"):
        into["Id"] = new["Id"]
    if (new.get("Version") or "") > into["Version"]:
        into["Version"] = new["Version"]
    for statement in new["Statement"]:
        sid = statement.get("Sid", "")
        existing = [i for i, s in enumerate(into["Statement"]) if sid and s.get("Sid", "") == sid]
        if existing:
            into["Statement"][existing[0]] = statement
        else:
            into["Statement"].append(statement)


def _document(merged: Mapping[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key in ("Version", "Id"):
        if merged[key]:
            document[key] = merged[key]
    if merged["Statement"]:
        document["Statement"] = [_ordered(s) for s in merged["Statement"]]
    return document


def _ordered(statement: Mapping[str, Any]) -> dict[str, Any]:
    return {key: statement[key] for key in _STATEMENT_ORDER if _present(statement.get(key))}


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


def _configured_statements(statements: Sequence[Mapping[str, Any]], version: str) -> list[dict[str, Any]]:
    rendered: list[dict[str, Any]] = []
    sids: set[str] = set()
    for config in statements:
        sid = config.get("sid") or ""
        if sid and sid in sids:
            raise PolicyDocumentError(f"duplicate Sid ({sid}); remove the Sid or make it unique")
        sids.add(sid)
        statement: dict[str, Any] = {"Sid": sid, "Effect": config.get("effect") or "Allow"}
        for key, wire in (("actions", "Action"), ("notActions", "NotAction")):
            statement[wire] = _decode_set(config.get(key))
        for key, wire in (("resources", "Resource"), ("notResources", "NotResource")):
            statement[wire] = _replace_vars(_decode_set(config.get(key)), version)
        for key, wire in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            statement[wire] = _principals(config.get(key) or [], version)
        statement["Condition"] = _conditions(config.get("conditions") or [], version)
        rendered.append(statement)
    return rendered


def _decode_set(values: Sequence[str] | None) -> str | list[str] | None:
    """policyDecodeConfigStrings over a schema.TypeSet: duplicates gone, one value as a string, else the
    values sorted in reverse."""
    unique = sorted(set(values or []), reverse=True)
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else unique


def _replace_vars(value: Any, version: str) -> Any:
    if isinstance(value, list):
        return [_replace_vars(v, version) for v in value]
    if isinstance(value, str):
        if version == "2008-10-17" and "&{" in value:
            raise PolicyDocumentError(f"found &{{ sequence in ({value}), which is not supported in version 2008-10-17")
        return value.replace("&{", "${")
    return value


def _principals(blocks: Sequence[Mapping[str, Any]], version: str) -> Any:
    """iamPolicyStatementPrincipalSet.MarshalJSON. Blocks are a set: identical blocks count once."""
    unique: list[tuple[str, Any]] = []
    for block in blocks:
        entry = (block.get("type") or "", _replace_vars(_decode_set(block.get("identifiers")), version))
        if entry not in unique:
            unique.append(entry)
    if len(unique) == 1 and unique[0][0] == "*" and unique[0][1] in ("*", ["*"]):
        return "*"
    raw: dict[str, Any] = {}
    for kind, identifiers in unique:
        raw[kind] = _add_identifiers(raw.get(kind), identifiers)
    return {kind: raw[kind] for kind in sorted(raw)} or None


def _add_identifiers(current: Any, identifiers: Any) -> Any:
    if isinstance(identifiers, list):
        existing = [] if current is None else ([current] if isinstance(current, str) else list(current))
        return existing + sorted(identifiers, reverse=True)
    if current is None:
        return identifiers
    return ([current] if isinstance(current, str) else list(current)) + [identifiers]


def _conditions(blocks: Sequence[Mapping[str, Any]], version: str) -> dict[str, dict[str, Any]] | None:
    """iamPolicyStatementConditionSet.MarshalJSON: test -> variable -> values (in order, flattened when one)."""
    raw: dict[str, dict[str, list[str]]] = {}
    unique: list[tuple[str, str, tuple[str, ...]]] = []
    for block in blocks:
        values = tuple(_replace_vars([str(v) for v in block.get("values") or []], version))
        entry = (block.get("test") or "", block.get("variable") or "", values)
        if entry not in unique:
            unique.append(entry)
    for test, variable, values in unique:
        raw.setdefault(test, {}).setdefault(variable, []).extend(values)
    return {
        test: {variable: (v[0] if len(v) == 1 else v) for variable, v in sorted(raw[test].items())}
        for test in sorted(raw)
    } or None


def _parse(text: str, where: str) -> dict[str, Any]:
    """json.Unmarshal into iamPolicyDoc, keeping what the provider's types keep when it marshals back."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as error:
        raise PolicyDocumentError(f"merging {where}: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise PolicyDocumentError(f"merging {where}: expected a JSON object")
    statements = data.get("Statement") or []
    if isinstance(statements, dict):
        raise PolicyDocumentError(f"merging {where}: Statement must be a list, as the provider requires")
    return {"Version": str(data.get("Version") or ""), "Id": str(data.get("Id") or ""),
            "Statement": [_parsed_statement(s) for s in statements]}


def _parsed_statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    parsed = {key: statement.get(key) for key in ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource")}
    parsed["Sid"] = parsed["Sid"] or ""
    for key in ("Principal", "NotPrincipal"):
        parsed[key] = _parsed_principal(statement.get(key))
    parsed["Condition"] = _parsed_condition(statement.get("Condition"))
    return parsed


def _parsed_principal(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return "*"  # UnmarshalJSON reads any string principal as {"*": ["*"]}, marshalled back as "*"
    blocks = [(k, sorted(v, reverse=True) if isinstance(v, list) else v) for k, v in value.items()]
    if len(blocks) == 1 and blocks[0][0] == "*" and blocks[0][1] in ("*", ["*"]):
        return "*"
    return {kind: identifiers for kind, identifiers in sorted(blocks)} or None


def _parsed_condition(value: Any) -> Any:
    if not value:
        return None
    flattened: dict[str, dict[str, Any]] = {}
    for test, variables in sorted(value.items()):
        for variable, values in sorted(variables.items()):
            if isinstance(values, bool):
                values = "true" if values else "false"
            elif isinstance(values, list):
                values = values[0] if len(values) == 1 else values
            elif not isinstance(values, str):
                continue  # UnmarshalJSON keeps strings, bools and lists only: a number disappears
            flattened.setdefault(test, {})[variable] = values
    return flattened or None


def _go_json(document: Any, indent: int | None) -> str:
    """encoding/json output: UTF-8 kept, but <, >, & and U+2028/2029 escaped (Go's HTML-safe default)."""
    separators = (",", ": ") if indent else (",", ":")
    text = json.dumps(document, indent=indent, separators=separators, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text
