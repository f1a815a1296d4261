"""Background jobs on dramatiq (Redis broker).

``jobs.broker`` builds the broker (the only place that does); ``jobs.actors`` declares the actors
and, when imported, sets the broker up from settings unless one is set already; ``jobs.worker``
runs worker processes. Importing this package does nothing.
"""
