"""The shared core under every stage: the data contract, the home folder's layout and the
warehouse writer lock. It imports no other Norrut package."""
