"""How commands report progress: one line at a time, flushed, so a log or a pipe sees it live."""


def progress(line: str) -> None:
    print(line, flush=True)
