"""Root pytest configuration: the kit's shared fixtures are available to every test folder."""
pytest_plugins = ["servicekit.pytest_plugin"]
