"""Print the schema's SDL (``make schema`` writes it to graph/schema.graphql)."""

from graph.schema import schema

if __name__ == "__main__":
    print(schema.as_str())
