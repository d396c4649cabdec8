"""One module per Kafka API; importing this package registers them all in ``HANDLERS``.

Every module in this package except ``registry`` is imported here, so adding an API is adding
a module: its ``@handles`` registration feeds ApiVersions.
"""

import importlib
import pkgutil

from pybroker.handlers.registry import HANDLERS, HandlerSpec

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "registry":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["HANDLERS", "HandlerSpec"]
