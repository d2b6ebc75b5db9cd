import sys

try:
    from rampart.cli import entrypoint
except KeyboardInterrupt:  # SIGINT while Python was still importing the CLI: a word, not a traceback
    sys.stderr.write("rampart: interrupted\n")
    sys.exit(130)

entrypoint()
