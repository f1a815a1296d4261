"""What dramatiq's worker processes import (``marquee worker``): JSON logs like the API's, then
the actors, and the scheduler tick."""

from marquee.logs import configure_logging

configure_logging()

from jobs.actors import *  # noqa: E402, F403  (the actors, declared on the broker)
from jobs.broker import get_broker  # noqa: E402
from jobs.scheduler import SchedulerTicker  # noqa: E402

broker = get_broker()
broker.add_middleware(SchedulerTicker())  # only worker processes import this module
