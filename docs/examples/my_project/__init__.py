"""An example user package for docs/cli.md: a custom env factory and custom networks."""
