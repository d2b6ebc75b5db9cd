import sys

try:
    from rampart.bytecode import use_private_prefix

    use_private_prefix()  # before the CLI's own imports, which it then covers
    from rampart.cli import entrypoint
except KeyboardInterrupt:  # SIGINT while Python was still importing the CLI: a word, not a traceback
    sys.stderr.write("rampart: interrupted\n")
    sys.exit(130)

entrypoint()
