//! Preprocessing and augmentation: detector events to model-ready ndarray batches.
