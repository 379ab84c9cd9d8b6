"""Personal data at rest and on the bus: pseudonyms, data keys, sealing, forgetting."""
