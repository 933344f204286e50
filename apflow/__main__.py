"""`python -m apflow …`: the `apflow` command, as `apflow up` starts its workers."""
from .cli import main

main()
