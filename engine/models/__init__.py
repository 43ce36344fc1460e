"""One module per network family; importing this package registers every variant."""
from . import fsrnet  # noqa: F401
from . import selfsr  # noqa: F401
from . import sparnet  # noqa: F401
from .registry import Variant, registered  # noqa: F401
