"""One Lambda entry point per function and trigger; each builds its graph once, at the container's init.

Each module resolves ``lambda_handler`` lazily (PEP 562 ``__getattr__``): Lambda's
runtime asks for it during init, so configuration is still validated at cold
start, while tests and tools can import ``create_handler`` without an environment.
"""
