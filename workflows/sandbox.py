"""How workflow code is sandboxed, for the worker and the replay tests alike.

Pydantic imports `email_validator` (and it `idna`) the first time an email
address is validated, which in a workflow is mid-run: passed through, they
are loaded once, outside the sandbox, like the rest of the domain's imports."""
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("email_validator", "idna"),
)
