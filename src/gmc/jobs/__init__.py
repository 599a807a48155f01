"""Background jobs: large imports run in a worker of the server and report their progress."""
