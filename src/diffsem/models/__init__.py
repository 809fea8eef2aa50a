"""Networks of Tables I-III.  ``registry`` holds the architecture families a catalog entry names
(Table I for 1×28×28 images, Table II for 3×32×32) and builds a dataset's spec from its entry; the
U-Net (Table III) is shared and sized by the feature shape."""

from .registry import FAMILIES, DatasetSpec, family_spec, get_spec, spec_for  # noqa: F401
