"""HTTP endpoints that other systems call: CI pipelines and GitHub."""
