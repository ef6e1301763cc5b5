"""dailyml: the domain core shared by every service and frontend.

Dataset specs, settings, the feature store tables, training, the model registry and the
API contracts live here, once. Services are thin layers over this package.
"""

__version__ = "0.1.0"
