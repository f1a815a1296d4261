"""Business rules. Knows SQL and models; knows nothing of GraphQL, HTTP or dramatiq."""
