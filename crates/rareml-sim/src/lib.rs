//! Toy Monte Carlo generators for the NEWSdm, PandaX-III and SHiP target-tracker detectors.
