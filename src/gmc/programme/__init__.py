"""Programme monitoring: recruitment, samples, genomes, interpretation and reports against the targets."""
