//! A ROOT file reader for what REST-for-Physics files hold, needing neither ROOT nor a C++
//! runtime: the file header, the top directory's keys, decompression (zlib, LZMA, LZ4), the
//! file's own class descriptions (`TStreamerInfo`), objects decoded by them ([`object`]) and
//! `TTree` branches read entry by entry ([`tree`]).
//!
//! Every size the file declares is checked before it sizes anything: records must lie inside
//! the file, a decompressed object must stay under the read ceiling
//! (`RAREML_MAX_READ_MIB`, as for HDF5 reads), and every count inside an object must fit
//! the bytes that remain. Nothing here panics on damaged input; failures are `String`s naming
//! the byte offset, which [`RootFile`]'s callers turn into errors naming the file and the object.

pub mod compress;
pub mod cursor;
pub mod object;
pub mod streamer;
pub mod tree;

use cursor::{Cursor, R};
use object::{Decoder, Value};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use streamer::StreamerInfos;

/// Bytes of the fixed part of a small file's header (`fVersion` < 1000000).
const HEADER_BYTES: usize = 100;

/// One key of a directory: where an object is stored and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Object name.
    pub name: String,
    /// Object title.
    pub title: String,
    /// ROOT class of the object.
    pub class: String,
    /// Cycle number (versions of the same name).
    pub cycle: i16,
    /// Offset of the record in the file, in bytes.
    pub seek: u64,
    /// Bytes of the record on disk (key header + stored data).
    pub nbytes: u32,
    /// Bytes of the object once decompressed.
    pub objlen: u32,
    /// Bytes of the key header.
    pub keylen: u16,
}

/// An open ROOT file.
pub struct RootFile {
    path: PathBuf,
    file: File,
    len: u64,
    /// ROOT's file format version (`fVersion`).
    pub version: i32,
    /// Compression setting of the file (`fCompress`: 100·algorithm + level).
    pub compression: i32,
    keys: Vec<Key>,
    infos: StreamerInfos,
}

impl RootFile {
    /// Opens a file: its header, the top directory's keys and its class descriptions.
    pub fn open(path: &Path) -> R<Self> {
        let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
        let len = file
            .metadata()
            .map_err(|e| format!("cannot stat: {e}"))?
            .len();
        let mut f = RootFile {
            path: path.to_path_buf(),
            file,
            len,
            version: 0,
            compression: 0,
            keys: Vec::new(),
            infos: StreamerInfos::default(),
        };
        let head = f.read_at(0, HEADER_BYTES.min(len as usize), "the file header")?;
        let mut c = Cursor::new(&head, 0);
        if c.bytes(4)? != b"root" {
            return Err("not a ROOT file (no \"root\" signature at the start)".into());
        }
        f.version = c.i32()?;
        let big = f.version >= 1_000_000;
        let begin = c.i32()? as i64;
        let seek = |c: &mut Cursor| -> R<i64> {
            if big {
                c.i64()
            } else {
                c.i32().map(i64::from)
            }
        };
        let end = seek(&mut c)?;
        seek(&mut c)?; // fSeekFree
        c.i32()?; // fNbytesFree
        c.i32()?; // nfree
        let nbytes_name = c.i32()?;
        c.u8()?; // fUnits
        f.compression = c.i32()?;
        let seek_info = seek(&mut c)?;
        let nbytes_info = c.i32()?;
        if begin <= 0 || end as u64 > len || end < begin {
            return Err(format!(
                "header: fBEGIN {begin}, fEND {end} for a file of {len} bytes (truncated or damaged)"
            ));
        }
        // the top directory: its record follows the key and the name at fBEGIN
        let dir_at = begin as u64 + nbytes_name.max(0) as u64;
        let dir = f.read_at(
            dir_at,
            64.min((len - dir_at.min(len)) as usize),
            "the top directory",
        )?;
        let mut d = Cursor::new(&dir, 0);
        let dv = d.i16()?;
        d.u32()?;
        d.u32()?; // ctime, mtime
        d.i32()?; // nbytes keys
        d.i32()?; // nbytes name
        let dseek = |d: &mut Cursor| -> R<i64> {
            if dv > 1000 {
                d.i64()
            } else {
                d.i32().map(i64::from)
            }
        };
        dseek(&mut d)?;
        dseek(&mut d)?; // seekdir, seekparent
        let seek_keys = dseek(&mut d)?;
        f.keys = f.read_keys(seek_keys)?;
        if seek_info > 0 {
            let info_key = f.key_at(seek_info as u64, nbytes_info.max(0) as u64)?;
            let payload = f.payload(&info_key)?;
            f.infos = StreamerInfos::parse(&payload, info_key.keylen as usize)
                .map_err(|e| format!("StreamerInfo record: {e}"))?;
        }
        Ok(f)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The top directory's keys.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The file's class descriptions.
    pub fn streamer_infos(&self) -> &StreamerInfos {
        &self.infos
    }

    /// The key of the newest cycle named `name`.
    pub fn key(&self, name: &str) -> Option<&Key> {
        self.newest(|k| k.name == name)
    }

    /// The newest cycle among the keys `wanted` accepts.
    pub fn newest(&self, wanted: impl Fn(&Key) -> bool) -> Option<&Key> {
        self.keys
            .iter()
            .filter(|k| wanted(k))
            .max_by_key(|k| k.cycle)
    }

    /// Decodes the object behind `key` with the file's class descriptions.
    pub fn object(&self, key: &Key) -> R<Value> {
        let payload = self.payload(key)?;
        let mut c = Cursor::new(&payload, key.keylen as usize);
        Decoder::new(&self.infos).class(&mut c, &key.class)
    }

    /// Reads `len` bytes at `pos`, which must lie inside the file and under the read ceiling.
    pub fn read_at(&self, pos: u64, len: usize, what: &str) -> R<Vec<u8>> {
        if pos.checked_add(len as u64).is_none_or(|e| e > self.len) {
            return Err(format!(
                "{what}: {len} bytes at offset {pos} lie past the end of the {}-byte file (truncated or damaged)",
                self.len
            ));
        }
        check_ceiling(len as u64, what)?;
        let mut buf = vec![0u8; len];
        self.file
            .read_exact_at(&mut buf, pos)
            .map_err(|e| format!("{what}: reading {len} bytes at offset {pos}: {e}"))?;
        Ok(buf)
    }

    /// Parses the key header of the record at `pos` (`nbytes` when the caller knows it, else 0).
    pub fn key_at(&self, pos: u64, nbytes: u64) -> R<Key> {
        let head_len = (self.len.saturating_sub(pos))
            .min(if nbytes > 0 { nbytes } else { 1024 })
            .min(1024);
        let head = self.read_at(pos, head_len as usize, "a key header")?;
        let (key, _) = parse_key(&head).map_err(|e| format!("key header at offset {pos}: {e}"))?;
        if key.seek != pos && key.seek != 0 {
            return Err(format!(
                "key header at offset {pos} says it is at offset {} (damaged)",
                key.seek
            ));
        }
        if nbytes > 0 && key.nbytes as u64 != nbytes {
            return Err(format!(
                "record at offset {pos}: its key says {} bytes, its directory {nbytes}",
                key.nbytes
            ));
        }
        Ok(Key { seek: pos, ..key })
    }

    /// The decompressed object bytes of `key` (the key header not included).
    pub fn payload(&self, key: &Key) -> R<Vec<u8>> {
        let what = format!("{} ({})", key.name, key.class);
        if (key.nbytes as usize) < key.keylen as usize {
            return Err(format!(
                "{what}: record of {} bytes is shorter than its {}-byte key",
                key.nbytes, key.keylen
            ));
        }
        let stored = key.nbytes as usize - key.keylen as usize;
        let data = self.read_at(key.seek + key.keylen as u64, stored, &what)?;
        unpack(data, key.objlen as usize, &what)
    }

    fn read_keys(&self, seek_keys: i64) -> R<Vec<Key>> {
        if seek_keys <= 0 || seek_keys as u64 >= self.len {
            return Err(format!(
                "the top directory's key list is at offset {seek_keys}, outside the file"
            ));
        }
        let list = self.key_at(seek_keys as u64, 0)?;
        let body = self.payload(&list)?;
        let mut c = Cursor::new(&body, 0);
        let n = c.count(26, "keys of the top directory")?;
        let mut keys = Vec::with_capacity(n);
        for i in 0..n {
            let at = c.pos();
            let rest = &body[at..];
            let (key, used) =
                parse_key(rest).map_err(|e| format!("key {i} of the top directory: {e}"))?;
            c.bytes(used)?;
            keys.push(key);
        }
        Ok(keys)
    }
}

/// A record's object bytes from its `stored` bytes after the key: as they are when they already
/// have the object's length `objlen`, else decompressed (under the read ceiling).
fn unpack(stored: Vec<u8>, objlen: usize, what: &str) -> R<Vec<u8>> {
    if stored.len() == objlen {
        return Ok(stored);
    }
    check_ceiling(objlen as u64, what)?;
    compress::decompress(&stored, objlen).map_err(|e| format!("{what}: {e}"))
}

/// Errors when `bytes` is above the read ceiling.
fn check_ceiling(bytes: u64, what: &str) -> R<()> {
    let limit = crate::h5::read_limit_bytes();
    if bytes > limit {
        return Err(format!(
            "{what} would take {bytes} bytes, above the read ceiling of {limit} bytes (RAREML_MAX_READ_MIB raises it)"
        ));
    }
    Ok(())
}

/// A key header; returns the key and its length in bytes.
fn parse_key(b: &[u8]) -> R<(Key, usize)> {
    let mut c = Cursor::new(b, 0);
    let nbytes = c.i32()?;
    let version = c.i16()?;
    let objlen = c.i32()?;
    c.u32()?; // datime
    let keylen = c.i16()?;
    let cycle = c.i16()?;
    let seek = if version > 1000 {
        c.i64()?
    } else {
        c.i32()? as i64
    };
    if version > 1000 {
        c.i64()?;
    } else {
        c.i32()?;
    } // seek of the parent directory
    let class = c.tstring()?;
    let name = c.tstring()?;
    let title = c.tstring()?;
    if nbytes < 0 || objlen < 0 || keylen < 0 || seek < 0 || (keylen as i64) > nbytes as i64 {
        return Err(format!(
            "nbytes {nbytes}, objlen {objlen}, keylen {keylen}, seek {seek}: damaged"
        ));
    }
    Ok((
        Key {
            name,
            title,
            class,
            cycle,
            seek: seek as u64,
            nbytes: nbytes as u32,
            objlen: objlen as u32,
            keylen: keylen as u16,
        },
        c.pos(),
    ))
}
