"""Scripts run by an official Together SDK in a venv of its own (.venv-sdk2, .venv-sdk3), never by the suite's."""
