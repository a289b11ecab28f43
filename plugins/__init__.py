"""Built-in plugins: adapters between inspector and the outside world.

Sources, models and explainers beyond the defaults register here through the
same entry points a third-party package would use.
"""
