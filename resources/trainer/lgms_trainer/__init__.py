"""Trainer, exporter and evaluator for LGMSNet models used by LGMS Workstation."""

__version__ = "0.1.0"
