//! Training loop, optimisers and schedules, checkpoints, ensembles, threshold choice and reports.
