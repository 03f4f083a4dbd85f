from autopay.tests.conftest import autopay_sim, autopay_user, turn_on  # noqa: F401
from payments.tests.conftest import plans, simulator  # noqa: F401
from tests.faults.controls import postgres_control  # noqa: F401
from tests.jobs.workers import job_workers  # noqa: F401
