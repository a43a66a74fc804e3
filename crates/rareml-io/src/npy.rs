//! NPY export of arrays (numpy's `.npy` format) for users who continue in numpy.

use std::path::Path;

use ndarray::{ArrayBase, Data, Dimension};
use ndarray_npy::{WritableElement, WriteNpyExt};

use crate::error::{Error, Result};

/// Writes any array (e.g. a batch of images `(B, P, H, W)` f32) as a `.npy` file.
pub fn write_npy<A, S, D>(path: impl AsRef<Path>, array: &ArrayBase<S, D>) -> Result<()>
where
    A: WritableElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    let path = path.as_ref();
    let file = std::fs::File::create(path).map_err(|source| Error::Io {
        file: path.to_path_buf(),
        source,
    })?;
    let writer = std::io::BufWriter::new(file);
    array.write_npy(writer).map_err(|source| Error::Npy {
        file: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn writes_a_readable_npy_header_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let a = Array3::<f32>::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 100 + j * 10 + k) as f32);
        write_npy(&path, &a).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        let header = String::from_utf8_lossy(&bytes[10..80]);
        assert!(
            header.contains("'descr': '<f4'") && header.contains("(2, 3, 4)"),
            "{header}"
        );
        let data = &bytes[bytes.len() - 24 * 4..];
        let last = f32::from_le_bytes(data[23 * 4..].try_into().unwrap());
        assert_eq!(last, 123.0);
    }

    #[test]
    fn unwritable_path_names_the_file() {
        let err =
            write_npy("/nonexistent-dir/x.npy", &Array3::<f32>::zeros((1, 1, 1))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/x.npy"), "{err}");
    }
}
