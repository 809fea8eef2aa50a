"""Networks of Tables I-III.  Each dataset registers its encoder/classifier/strong/adversary builders
in ``registry``; the U-Net (Table III) is shared and sized by the feature shape."""

from .registry import DatasetSpec, get_spec  # noqa: F401
