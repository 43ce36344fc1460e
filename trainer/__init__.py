"""FSR Studio trainer: datasets, degradations, losses and training loops. No Qt here."""
