from tests.servers import gunicorn_servers  # noqa: F401
