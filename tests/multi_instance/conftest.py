from tests.servers import web_servers  # noqa: F401
