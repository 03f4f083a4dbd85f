"""Django's PostgreSQL backend with a connection health check that costs no round trip.

With `CONN_HEALTH_CHECKS` Django checks a persistent connection before its first use in each request, so that a
connection the server closed (PostgreSQL restarted, connection terminated) is replaced instead of failing the
request. Django's check is a `SELECT 1` round trip: on the hot paths that was one of three statements per
request (docs/performance.md). An idle connection between requests has nothing to read; when the server ends
it, it sends a termination message and closes the socket, both of which make the socket readable. So the check
here is a zero-timeout `select()` on the socket: readable, closed or broken means unusable, and Django
reconnects before the request's first statement, exactly as after a failed `SELECT 1`.

After an error in the request (`errors_occurred`) Django's own `SELECT 1` decides, as before: the socket may
be fine while the session is not.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.errors_occurred:
            return super().is_usable()
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):  # the socket is gone
            return False
        return not readable
