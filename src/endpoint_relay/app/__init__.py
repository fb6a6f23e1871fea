"""The application layer: single-job units between the entry points and the adapters.

Each unit receives its collaborators when the object graph is built (see
``endpoint_relay.wiring``) and never looks anything up.
"""
