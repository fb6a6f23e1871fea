"""`make bench`: the relay's cost against the floor and the alternatives, measured side by side."""
