"""The one exception type for user mistakes (bad files, configs, arguments).

The CLI turns it into a one-line message and exit code 2; anything else is our bug and keeps its traceback.
"""


class BenchmarkError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""
