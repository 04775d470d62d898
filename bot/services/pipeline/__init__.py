"""The pipeline asking Shipmate: gate checks and waiting for them, GitHub's events, signed deliveries answered
once."""
