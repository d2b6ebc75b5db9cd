from rampart.cli import entrypoint

entrypoint()
