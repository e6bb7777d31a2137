"""``python -m reconciler`` runs the ``certops`` command."""

from reconciler.cli import main

if __name__ == "__main__":
    main()
