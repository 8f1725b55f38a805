"""Loading, validating and modelling YAML cluster specs."""
