"""Entry point: python -m gan_core."""

from .cli import main
from .train.distributed import exit_process

exit_process(main())
