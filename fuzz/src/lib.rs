//! Helpers shared by the fuzz targets.

use std::path::PathBuf;

/// Writes `data` to `name` in this process's directory under the temporary directory (tmpfs on
/// most machines) and returns its path: the whole-file readers take paths, not bytes.
pub fn input_file(data: &[u8], name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rareml-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}
