"""Sources: turn what arrives (pulls and pushes) into normalised records."""
