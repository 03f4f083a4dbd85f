from payments.tests.conftest import plans, simulator  # noqa: F401
from tests.faults.controls import postgres_control  # noqa: F401
from tests.jobs.workers import job_workers  # noqa: F401
