"""Composition root: settings, database engine, embedded servers and the CLI."""
