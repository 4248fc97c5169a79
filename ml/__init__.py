"""eolabel's machine-learning core: pure PyTorch/numpy, no Django.

Data flows ``ml.data`` (chips, normalisation, augmentation) -> ``ml.models`` (U-Net for clouds,
CenterNet-style vehicle detector, sensor transfer) -> ``ml.training`` -> ``ml.registry`` (versioned
artefacts) -> ``ml.inference`` (probabilities for ranking). Subpackages are imported on demand so
that ``import ml`` stays cheap.
"""
