//! `TTree` branches read entry by entry, one basket in memory at a time.
//!
//! A branch lists its baskets (`fBasketSeek`, `fBasketBytes`, `fBasketEntry`); each basket is a
//! record whose key header carries the basket's own header (`fNevBufSize`, `fNevBuf`, `fLast`)
//! and whose data holds the entries, followed — for entries of varying size — by their offsets.

use super::cursor::{Cursor, R};
use super::object::{Object, Value};
use super::RootFile;

/// One branch of a tree (and its sub-branches).
#[derive(Debug, Clone)]
pub struct Branch {
    /// Branch name (`fSignal.fSignalID`).
    pub name: String,
    /// ROOT class of the branch (`TBranchElement`, `TBranch`).
    pub class: String,
    /// Entries the branch holds.
    pub entries: u64,
    /// `fEntryOffsetLen`: 0 when every entry has the same size.
    pub entry_offset_len: i64,
    /// The baskets written to the file: (offset, bytes, first entry).
    pub baskets: Vec<(u64, u32, u64)>,
    /// Sub-branches.
    pub branches: Vec<Branch>,
}

/// A tree: its entry count and branches.
#[derive(Debug, Clone)]
pub struct Tree {
    /// Tree name.
    pub name: String,
    /// Entries (`fEntries`).
    pub entries: u64,
    /// Top-level branches.
    pub branches: Vec<Branch>,
}

fn int(o: &Object, name: &str, what: &str) -> R<i64> {
    o.get(name)
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("{what}: member {name} missing or not an integer"))
}

fn ints(o: &Object, name: &str, what: &str) -> R<Vec<i64>> {
    o.get(name)
        .and_then(Value::as_list)
        .ok_or_else(|| format!("{what}: member {name} missing or not an array"))?
        .iter()
        .map(|v| {
            v.as_i64()
                .ok_or_else(|| format!("{what}: {name} holds a non-integer"))
        })
        .collect()
}

fn branches(o: &Object, what: &str, depth: usize) -> R<Vec<Branch>> {
    if depth > 32 {
        return Err(format!("{what}: branches nested deeper than 32"));
    }
    let Some(list) = o.get("fBranches").and_then(Value::as_list) else {
        return Err(format!("{what}: no fBranches list"));
    };
    list.iter()
        .filter_map(Value::as_object)
        .map(|b| branch(b, depth + 1))
        .collect()
}

fn branch(o: &Object, depth: usize) -> R<Branch> {
    let name = o
        .get("fName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let what = format!("branch {name}");
    let entries = int(o, "fEntries", &what)?;
    let written = int(o, "fWriteBasket", &what)?;
    let bytes = ints(o, "fBasketBytes", &what)?;
    let first = ints(o, "fBasketEntry", &what)?;
    let seek = ints(o, "fBasketSeek", &what)?;
    if entries < 0 || written < 0 || written as usize > bytes.len().min(first.len()).min(seek.len())
    {
        return Err(format!(
            "{what}: {entries} entries, {written} baskets written, basket tables of {}/{}/{} (damaged)",
            bytes.len(),
            first.len(),
            seek.len()
        ));
    }
    let mut baskets = Vec::with_capacity(written as usize);
    for i in 0..written as usize {
        let (s, b, e) = (seek[i], bytes[i], first[i]);
        let next = if i + 1 < first.len() && (i + 1) < written as usize {
            first[i + 1]
        } else {
            entries
        };
        if s <= 0 || b <= 0 || e < 0 || e > next || b > u32::MAX as i64 {
            return Err(format!(
                "{what}: basket {i} at offset {s}, {b} bytes, first entry {e}: damaged"
            ));
        }
        baskets.push((s as u64, b as u32, e as u64));
    }
    Ok(Branch {
        name,
        class: o.class.clone(),
        entries: entries as u64,
        entry_offset_len: int(o, "fEntryOffsetLen", &what)?,
        baskets,
        branches: branches(o, &what, depth)?,
    })
}

impl Tree {
    /// The tree a decoded `TTree` (or subclass) object describes.
    pub fn from_object(name: &str, v: &Value) -> R<Self> {
        let o = v
            .as_object()
            .ok_or_else(|| format!("tree {name}: not decoded as an object ({v:?})"))?;
        let entries = int(o, "fEntries", name)?;
        if entries < 0 {
            return Err(format!("tree {name}: {entries} entries"));
        }
        Ok(Tree {
            name: name.to_string(),
            entries: entries as u64,
            branches: branches(o, &format!("tree {name}"), 0)?,
        })
    }

    /// The branch `name`, searched depth-first through the sub-branches.
    pub fn branch(&self, name: &str) -> Option<&Branch> {
        find(&self.branches, name)
    }
}

impl Branch {
    /// The sub-branch `name`, searched depth-first.
    pub fn branch(&self, name: &str) -> Option<&Branch> {
        find(&self.branches, name)
    }
}

fn find<'b>(list: &'b [Branch], name: &str) -> Option<&'b Branch> {
    list.iter()
        .find(|b| b.name == name)
        .or_else(|| list.iter().find_map(|b| find(&b.branches, name)))
}

/// One basket's entries in memory.
struct Basket {
    first: u64,
    data: Vec<u8>,
    /// Start of each entry in `data`, and the end of the last.
    bounds: Vec<usize>,
}

/// Reads a branch's entries in order, one basket at a time.
pub struct Entries<'f> {
    file: &'f RootFile,
    branch: &'f Branch,
    next_basket: usize,
    current: Option<Basket>,
    entry: u64,
}

impl<'f> Entries<'f> {
    /// A reader at entry 0 of `branch`.
    pub fn new(file: &'f RootFile, branch: &'f Branch) -> Self {
        Self {
            file,
            branch,
            next_basket: 0,
            current: None,
            entry: 0,
        }
    }

    /// The bytes of the next entry, or `None` after the last.
    pub fn next_entry(&mut self) -> R<Option<&[u8]>> {
        if self.entry >= self.branch.entries {
            return Ok(None);
        }
        let e = self.entry;
        let in_current = self
            .current
            .as_ref()
            .is_some_and(|b| e >= b.first && e < b.first + (b.bounds.len() as u64 - 1));
        if !in_current {
            if self.next_basket >= self.branch.baskets.len() {
                return Err(format!(
                    "branch {}: entry {e} is in no basket written to the file ({} baskets cover entries up to {}; \
                     the rest were kept in memory: a file not closed by ROOT?)",
                    self.branch.name,
                    self.branch.baskets.len(),
                    self.current.as_ref().map_or(0, |b| b.first + b.bounds.len() as u64 - 1)
                ));
            }
            let (seek, bytes, first) = self.branch.baskets[self.next_basket];
            self.next_basket += 1;
            if first != e {
                return Err(format!(
                    "branch {}: basket {} starts at entry {first}, entry {e} expected",
                    self.branch.name,
                    self.next_basket - 1
                ));
            }
            self.current = Some(self.read_basket(seek, bytes, first)?);
        }
        self.entry += 1;
        let b = self.current.as_ref().ok_or("no basket")?;
        let k = (e - b.first) as usize;
        Ok(Some(&b.data[b.bounds[k]..b.bounds[k + 1]]))
    }

    fn read_basket(&self, seek: u64, bytes: u32, first: u64) -> R<Basket> {
        let what = format!("branch {}: basket at offset {seek}", self.branch.name);
        let f = self.file;
        let raw = f.read_at(seek, bytes as usize, &what)?;
        let (key, used) = super::parse_key(&raw).map_err(|e| format!("{what}: {e}"))?;
        if key.class != "TBasket" || key.nbytes != bytes {
            return Err(format!(
                "{what}: record of class {:?} and {} bytes, a TBasket of {bytes} bytes expected",
                key.class, key.nbytes
            ));
        }
        let keylen = key.keylen as usize;
        let mut c = Cursor::new(&raw[used..], 0);
        c.i16()?; // basket version
        c.i32()?; // fBufferSize
        let entry_size = c.i32()?; // fNevBufSize
        let n = c.i32()?; // fNevBuf
        let last = c.i32()?; // fLast
        let expected = self.branch.entries.min(
            self.branch
                .baskets
                .get(self.next_basket)
                .map_or(self.branch.entries, |b| b.2),
        ) - first;
        if n < 0 || n as u64 != expected {
            return Err(format!(
                "{what}: holds {n} entries, the branch's tables say {expected}"
            ));
        }
        let data = super::unpack(raw[keylen..].to_vec(), key.objlen as usize, &what)?;
        let last = (last as i64) - keylen as i64;
        if last < 0 || last as usize > data.len() {
            return Err(format!(
                "{what}: fLast {} outside its {} data bytes",
                last + keylen as i64,
                data.len()
            ));
        }
        let last = last as usize;
        let n = n as usize;
        let mut bounds = Vec::with_capacity(n + 1);
        if self.branch.entry_offset_len > 0 {
            let mut o = Cursor::new(&data[last..], 0);
            let m = o.count(4, "entry offsets")?;
            if m < n {
                return Err(format!("{what}: {m} entry offsets for {n} entries"));
            }
            for _ in 0..n {
                let off = o.i32()? as i64 - keylen as i64;
                if off < 0
                    || off as usize > last
                    || bounds.last().is_some_and(|&p| (off as usize) < p)
                {
                    return Err(format!(
                        "{what}: entry offset {} outside the entries or out of order",
                        off + keylen as i64
                    ));
                }
                bounds.push(off as usize);
            }
            bounds.push(last);
        } else {
            let size = entry_size.max(0) as usize;
            if size.checked_mul(n).is_none_or(|t| t > last) {
                return Err(format!(
                    "{what}: {n} entries of {size} bytes do not fit its {last} data bytes"
                ));
            }
            bounds.extend((0..=n).map(|k| k * size));
        }
        Ok(Basket {
            first,
            data,
            bounds,
        })
    }
}
