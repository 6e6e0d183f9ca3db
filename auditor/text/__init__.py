"""Chinese text preparation: normalization with an offset map, and word segmentation."""
