"""Generation: the generator's use cases around the synthesizers, with the database and registry.

Named for what it does with ``dailyml.synthesizers``: ``fitting`` fits candidates on the stored
reference rows, scores them, registers them and chooses the default; ``store`` generates rows
from the default into the feature store (idempotently) and reads the stored samples back; ``cli``
is the ``dailyml generate`` sub-command. It imports the synthesizers, never the other way round.
"""
