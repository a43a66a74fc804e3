//! Classical analyses: barycenter shift, N-hits and Gaussian-moment regression, DBSCAN vertex, Bragg-blob cut.
