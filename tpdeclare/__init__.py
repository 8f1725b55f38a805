"""tpdeclare: Terraform-style declarative provisioner for TensorPool GPU clusters."""

__version__ = "0.1.0"
