from tests.faults.controls import postgres_control, redis_control  # noqa: F401
from tests.servers import gunicorn_servers  # noqa: F401
