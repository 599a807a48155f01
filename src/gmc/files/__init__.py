"""Input files of web requests: uploads streamed into the data directory, and named import folders."""
