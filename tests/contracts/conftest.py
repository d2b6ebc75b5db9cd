"""moto's server and the Stubber helper from the ops tests, reused as they are."""

from tests.ops.conftest import aws_env, moto_endpoint, stub_call  # noqa: F401 - fixtures
