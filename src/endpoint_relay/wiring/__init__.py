"""The composition root: builds each function's object graph once per container, from validated settings.

One module per function, so a lookup's cold start never imports the sweep or the
Slack worker. Tests build the same graphs with fakes and an injected clock.
"""
