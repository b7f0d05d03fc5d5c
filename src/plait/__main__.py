"""``python -m plait``: the same as the ``plait`` command."""

from plait.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    main(prog_name="plait")
