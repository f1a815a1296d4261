"""What dramatiq's worker processes import (``marquee worker``): JSON logs like the API's, then
the actors."""

from marquee.logs import configure_logging

configure_logging()

from jobs.actors import *  # noqa: E402, F403  (the actors, declared on the broker)
from jobs.broker import get_broker  # noqa: E402

broker = get_broker()
