//! Physics metrics: ROC/AUC, significance, rejection at efficiency with intervals, regression resolution.
