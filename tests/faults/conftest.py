from tests.faults.controls import postgres_control, redis_control  # noqa: F401
from tests.servers import web_servers  # noqa: F401
