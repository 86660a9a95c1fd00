"""The hardware block registry: one class per kind of block (base.py explains)."""
from . import feature_maps, joins, mvu, plumbing, sparse  # noqa: F401  (each module registers its blocks)
from .base import Block, block_of_op, block_of_unit, implementing  # noqa: F401
