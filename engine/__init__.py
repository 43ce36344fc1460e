"""FSR Studio engine: models, faces, restoration and metrics. No Qt here."""
