"""The GraphQL API: thin types and resolvers over the domain."""
