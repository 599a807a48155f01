"""gmc: an open platform for a Genomic Medicine Centre."""
__version__ = "0.1.0"
