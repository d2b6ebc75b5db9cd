from tests.badinput.harness import TALLY


def pytest_terminal_summary(terminalreporter):
    if TALLY.cases:
        terminalreporter.write_line(TALLY.line())
