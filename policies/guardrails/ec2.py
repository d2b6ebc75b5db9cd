"""EC2 rules for instances and launch templates: IMDSv2 only, encrypted EBS volumes, no public IP.

Launch templates type some booleans as strings (`encrypted = "true"`, `associate_public_ip_address = "true"`):
both spellings are read. EBS encryption is judged at stack level because an account-level
aws.ebs.EncryptionByDefault (enabled) encrypts every new volume whatever the instance says.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from guardrails.anchors import FSBP, anchor_tags, anchored, blocks, is_false, is_true, sh_url
from guardrails.rule import Context, Finding, Framework, Resource, Rule
from guardrails.shapes import first_block, of_type

INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
VOLUME = "aws:ebs/volume:Volume"
ENCRYPTION_BY_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"


def check_imdsv2(resource: Resource, context: Context) -> Iterator[str]:
    options = first_block(resource.get("metadataOptions"))
    if str(options.get("httpEndpoint", "")).lower() == "disabled":
        return  # no metadata service at all: nothing to steal credentials from
    tokens = options.get("httpTokens")
    if tokens != "required":
        shown = f"is {tokens!r}" if tokens is not None else "is not set (IMDSv1 stays available)"
        yield f"metadataOptions.httpTokens {shown}; expected \"required\" (IMDSv2 only)"


def _instance_volumes(instance: Resource) -> Iterator[tuple[str, Any]]:
    root = first_block(instance.get("rootBlockDevice"))
    yield "rootBlockDevice.encrypted", root.get("encrypted")
    for index, device in enumerate(blocks(instance.get("ebsBlockDevices"))):
        yield f"ebsBlockDevices[{index}].encrypted", device.get("encrypted")


def _template_volumes(template: Resource) -> Iterator[tuple[str, Any]]:
    for index, mapping in enumerate(blocks(template.get("blockDeviceMappings"))):
        ebs = first_block(mapping.get("ebs"))
        if ebs or not mapping.get("virtualName"):  # instance-store (virtualName) volumes are not EBS
            yield f"blockDeviceMappings[{index}].ebs.encrypted", ebs.get("encrypted")


def _volume_findings(resource: Resource) -> Iterator[str]:
    if resource.type == INSTANCE:
        volumes = _instance_volumes(resource)
    elif resource.type == LAUNCH_TEMPLATE:
        volumes = _template_volumes(resource)
    else:
        volumes = iter([("encrypted", resource.get("encrypted"))])
    for field, value in volumes:
        if not is_true(value):
            shown = "is false" if is_false(value) else "is not set"
            yield f"{field} {shown}; expected true (or the account's EBS encryption by default)"


def check_ebs_encrypted(resources: Sequence[Resource], context: Context) -> Iterator[Finding]:
    if any(is_true(r.get("enabled", True)) for r in of_type(resources, ENCRYPTION_BY_DEFAULT)):
        return
    for resource in of_type(resources, INSTANCE, LAUNCH_TEMPLATE, VOLUME):
        for message in _volume_findings(resource):
            yield Finding(f"{resource.name}: {message}", resource.urn)


def check_no_public_ip(resource: Resource, context: Context) -> Iterator[str]:
    if resource.type == INSTANCE and is_true(resource.get("associatePublicIpAddress")):
        yield "associatePublicIpAddress is true; expected false: reach the instance through a load balancer or SSM"
    for index, interface in enumerate(blocks(resource.get("networkInterfaces"))):
        if is_true(interface.get("associatePublicIpAddress")):
            yield (f"networkInterfaces[{index}].associatePublicIpAddress is true; expected false: reach the "
                   "instance through a load balancer or SSM")


def _rule(name: str, description: str, enforcement: Any, severity: Any, controls: str, checkov: Sequence[str],
          nag: Sequence[str], remediation: str, **kwargs: Any) -> Rule:
    return Rule(name=name, description=anchored(description, checkov, nag), enforcement=enforcement,
                severity=severity, framework=Framework(FSBP, controls), remediation=remediation,
                url=sh_url("ec2", controls.split(",")[0].strip()), tags=anchor_tags(checkov, nag), **kwargs)


POLICIES: list[Rule] = [
    _rule("ec2-imdsv2-required",
          "EC2 instances and launch templates require IMDSv2 session tokens (metadata_options.http_tokens).",
          "M", "high", "EC2.8, EC2.170", ("CKV_AWS_79",), ("NIST.800.53.R5-EC2IMDSv2Enabled",),
          "Set `metadata_options={\"http_tokens\": \"required\", \"http_put_response_hop_limit\": 1}` on the "
          "aws.ec2.Instance or aws.ec2.LaunchTemplate.",
          resource_types=(INSTANCE, LAUNCH_TEMPLATE), check=check_imdsv2),
    _rule("ec2-ebs-encrypted",
          "Root and data EBS volumes of instances, launch templates and aws.ebs.Volume are encrypted, unless the "
          "stack turns on EBS encryption by default.",
          "MP", "high", "EC2.3, EC2.181", ("CKV_AWS_8", "CKV_AWS_3"), ("AwsSolutions-EC26",),
          "Set `encrypted=True` on root_block_device / ebs_block_devices (instances), block_device_mappings[].ebs "
          "(launch templates) and aws.ebs.Volume, or add aws.ebs.EncryptionByDefault(enabled=True).",
          stack_check=check_ebs_encrypted),
    _rule("ec2-no-public-ip",
          "EC2 instances and launch templates do not attach a public IPv4 address (associate_public_ip_address).",
          "MP", "high", "EC2.9, EC2.25", ("CKV_AWS_88",), ("NIST.800.53.R5-EC2InstanceNoPublicIp",),
          "Set `associate_public_ip_address=False` (instances and launch template network_interfaces) and place the "
          "instance in a private subnet behind a load balancer; use SSM Session Manager for access.",
          resource_types=(INSTANCE, LAUNCH_TEMPLATE), check=check_no_public_ip),
]
